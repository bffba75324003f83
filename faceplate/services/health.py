"""Readiness: the database answers and its schema is at the head of migrations/."""

from __future__ import annotations

import asyncpg

from faceplate.db import Database
from faceplate.errors import Unavailable
from faceplate.migrate import migration_ids
from faceplate.queries import health as q


class Health:
    """Whether the service can serve."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def schema_at_head(self) -> bool:
        """Whether every shipped migration is applied; raises Unavailable if the database is
        away."""
        async with self._db.connection() as conn:
            try:
                applied = set(await q.list_applied_migrations(conn))
            except asyncpg.UndefinedTableError:
                return False  # yoyo has never run on this database
        return migration_ids() <= applied

    async def check_ready(self) -> None:
        """Raise Unavailable unless the service can serve."""
        if not await self.schema_at_head():
            raise Unavailable("database schema is not at the latest migration")
