"""Queries of sql/health/."""

from __future__ import annotations

from typing import Final

from faceplate.db import Conn
from faceplate.sql import QUERIES

_APPLIED: Final = QUERIES["list_applied_migrations"].text


async def list_applied_migrations(conn: Conn) -> list[str]:
    """sql/health/list_applied_migrations.sql"""
    return [r["migration_id"] for r in await conn.fetch(_APPLIED)]
