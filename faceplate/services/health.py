"""Readiness: the database answers and its schema is at the head of migrations/."""

from __future__ import annotations

import asyncpg

from faceplate.db import Database
from faceplate.errors import Unavailable
from faceplate.migrate import migration_ids
from faceplate.queries import health as q


async def schema_at_head(db: Database) -> bool:
    """Whether every shipped migration is applied; raises Unavailable if the database is away."""
    async with db.connection() as conn:
        try:
            applied = set(await q.list_applied_migrations(conn))
        except asyncpg.UndefinedTableError:
            return False  # yoyo has never run on this database
    return migration_ids() <= applied


async def check_ready(db: Database) -> None:
    """Raise Unavailable unless the service can serve."""
    if not await schema_at_head(db):
        raise Unavailable("database schema is not at the latest migration")
