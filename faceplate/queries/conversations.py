"""Queries of sql/conversations/."""

from __future__ import annotations

from datetime import datetime
from typing import Final
from uuid import UUID

import msgspec

from faceplate.db import Conn, rowcount, without_nul
from faceplate.sql import QUERIES
from faceplate.structs import Conversation

_CREATE: Final = QUERIES["create_conversation"].text
_GET: Final = QUERIES["get_conversation"].text
_LIST: Final = QUERIES["list_conversations"].text
_RENAME: Final = QUERIES["update_conversation_title"].text
_DELETE: Final = QUERIES["delete_conversation"].text


async def create_conversation(
    conn: Conn, *, id: UUID, user_id: UUID, title: str | None
) -> Conversation:
    """sql/conversations/create_conversation.sql"""
    row = await conn.fetchrow(_CREATE, id, user_id, _title(title))
    assert row is not None
    return msgspec.convert(dict(row), Conversation)


async def get_conversation(
    conn: Conn, *, user_id: UUID, conversation_id: UUID
) -> Conversation | None:
    """sql/conversations/get_conversation.sql"""
    row = await conn.fetchrow(_GET, user_id, conversation_id)
    return None if row is None else msgspec.convert(dict(row), Conversation)


async def list_conversations(
    conn: Conn,
    *,
    user_id: UUID,
    after_updated_at: datetime | None,
    after_id: UUID | None,
    limit: int,
) -> list[Conversation]:
    """sql/conversations/list_conversations.sql"""
    rows = await conn.fetch(_LIST, user_id, after_updated_at, after_id, limit)
    return [msgspec.convert(dict(r), Conversation) for r in rows]


async def update_conversation_title(
    conn: Conn, *, user_id: UUID, conversation_id: UUID, title: str | None
) -> Conversation | None:
    """sql/conversations/update_conversation_title.sql"""
    row = await conn.fetchrow(_RENAME, user_id, conversation_id, _title(title))
    return None if row is None else msgspec.convert(dict(row), Conversation)


async def delete_conversation(conn: Conn, *, user_id: UUID, conversation_id: UUID) -> int:
    """sql/conversations/delete_conversation.sql"""
    return rowcount(await conn.execute(_DELETE, user_id, conversation_id))


def _title(title: str | None) -> str | None:
    return None if title is None else without_nul(title)
