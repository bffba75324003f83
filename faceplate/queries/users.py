"""Queries of sql/users/."""

from __future__ import annotations

from typing import Final
from uuid import UUID

import asyncpg
import msgspec

from faceplate.db import Conn, without_nul
from faceplate.errors import Conflict
from faceplate.sql import QUERIES
from faceplate.structs import User

_UPSERT: Final = QUERIES["upsert_user"].text
_GET_BY_SUBJECT: Final = QUERIES["get_user_by_subject"].text
_LOCK: Final = QUERIES["lock_user"].text


async def upsert_user(conn: Conn, *, id: UUID, subject_id: str, email: str) -> User:
    """sql/users/upsert_user.sql; raises Conflict when another subject holds the email."""
    try:
        row = await conn.fetchrow(_UPSERT, id, without_nul(subject_id), without_nul(email))
    except asyncpg.UniqueViolationError as e:
        if e.constraint_name == "users_email_key":
            raise Conflict("email belongs to another user") from e
        raise
    assert row is not None
    return msgspec.convert(dict(row), User)


async def get_user_by_subject(conn: Conn, *, subject_id: str) -> User | None:
    """sql/users/get_user_by_subject.sql"""
    row = await conn.fetchrow(_GET_BY_SUBJECT, without_nul(subject_id))
    return None if row is None else msgspec.convert(dict(row), User)


async def lock_user(conn: Conn, *, user_id: UUID) -> bool:
    """sql/users/lock_user.sql; False when there is no such user. The caller holds a
    transaction: the lock lasts until it ends."""
    return await conn.fetchrow(_LOCK, user_id) is not None
