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
_SEARCH: Final = QUERIES["search_conversations"].text
_UPDATE: Final = QUERIES["update_conversation"].text
_ACTIVE: Final = QUERIES["update_active_message"].text
_DELETE: Final = QUERIES["delete_conversation"].text


async def create_conversation(
    conn: Conn, *, id: UUID, user_id: UUID, title: str | None, model: str | None = None
) -> Conversation:
    """sql/conversations/create_conversation.sql"""
    row = await conn.fetchrow(_CREATE, id, user_id, _text(title), model)
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
    archived: bool = False,
    after_updated_at: datetime | None,
    after_id: UUID | None,
    limit: int,
) -> list[Conversation]:
    """sql/conversations/list_conversations.sql

    Built field by field rather than by `convert(dict(row), …)`: this runs for every row of
    every page, and the columns are the struct's, typed by PostgreSQL.
    """
    rows = await conn.fetch(_LIST, user_id, archived, after_updated_at, after_id, limit)
    return [
        Conversation(
            id=r["id"],
            title=r["title"],
            model=r["model"],
            archived=r["archived"],
            active_message_id=r["active_message_id"],
            created_at=r["created_at"],
            updated_at=r["updated_at"],
        )
        for r in rows
    ]


async def search_conversations(
    conn: Conn,
    *,
    user_id: UUID,
    query: str,
    archived: bool,
    after_updated_at: datetime | None,
    after_id: UUID | None,
    limit: int,
) -> list[Conversation]:
    """sql/conversations/search_conversations.sql"""
    rows = await conn.fetch(
        _SEARCH, user_id, without_nul(query), archived, after_updated_at, after_id, limit
    )
    return [msgspec.convert(dict(r), Conversation) for r in rows]


async def update_conversation(
    conn: Conn,
    *,
    user_id: UUID,
    conversation_id: UUID,
    set_title: bool,
    title: str | None,
    set_model: bool,
    model: str | None,
    archived: bool | None,
) -> Conversation | None:
    """sql/conversations/update_conversation.sql"""
    row = await conn.fetchrow(
        _UPDATE, user_id, conversation_id, set_title, _text(title), set_model, model, archived
    )
    return None if row is None else msgspec.convert(dict(row), Conversation)


async def update_active_message(
    conn: Conn, *, user_id: UUID, conversation_id: UUID, message_id: UUID
) -> Conversation | None:
    """sql/conversations/update_active_message.sql"""
    row = await conn.fetchrow(_ACTIVE, user_id, conversation_id, message_id)
    return None if row is None else msgspec.convert(dict(row), Conversation)


async def delete_conversation(conn: Conn, *, user_id: UUID, conversation_id: UUID) -> int:
    """sql/conversations/delete_conversation.sql"""
    return rowcount(await conn.execute(_DELETE, user_id, conversation_id))


def _text(text: str | None) -> str | None:
    return None if text is None else without_nul(text)
