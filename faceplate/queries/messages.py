"""Queries of sql/messages/."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from uuid import UUID

import msgspec

from faceplate.db import Conn, rowcount, without_nul
from faceplate.sql import QUERIES
from faceplate.structs import (
    FinishReason,
    Message,
    RawMessage,
    Role,
    TokenUsage,
    ToolCall,
    ToolResult,
)

_CREATE: Final = QUERIES["create_message"].text
_LIST: Final = QUERIES["list_messages"].text
_HISTORY: Final = QUERIES["list_history"].text
_ANSWERED: Final = QUERIES["get_answered_message"].text
_ROLE: Final = QUERIES["get_message_role"].text
_UPDATE_CONTENT: Final = QUERIES["update_message_content"].text
_FINISH: Final = QUERIES["finish_message"].text


async def create_message(
    conn: Conn,
    *,
    user_id: UUID,
    conversation_id: UUID,
    id: UUID,
    role: Role,
    content: str,
    tool_calls: Sequence[ToolCall] | None = None,
    tool_results: Sequence[ToolResult] | None = None,
    finish_reason: FinishReason | None = None,
    title_if_untitled: str | None = None,
    new_branch: bool = False,
    parent_id: UUID | None = None,
    model: str | None = None,
    turn_id: UUID | None = None,
    epoch: int | None = None,
    usage: TokenUsage | None = None,
) -> Message | None:
    """sql/messages/create_message.sql; None when the conversation is not the user's, the
    parent not one of its messages, or when the writing turn (`turn_id` at `epoch`) no longer
    holds the conversation. Without `new_branch` it continues the active leaf."""
    row = await conn.fetchrow(
        _CREATE,
        user_id,
        conversation_id,
        id,
        role,
        without_nul(content),
        tool_calls,
        tool_results,
        finish_reason,
        None if title_if_untitled is None else without_nul(title_if_untitled),
        new_branch,
        parent_id,
        model,
        turn_id,
        epoch,
        usage,
    )
    return None if row is None else msgspec.convert(dict(row), Message)


async def list_messages(
    conn: Conn,
    *,
    user_id: UUID,
    conversation_id: UUID,
    after_depth: int | None,
    limit: int,
) -> list[RawMessage]:
    """sql/messages/list_messages.sql: the JSONB relayed as stored (msgspec.Raw), not decoded.

    Built field by field rather than by `convert(dict(row), …)`: this runs for every row of
    every page, and the columns are the struct's, typed by PostgreSQL.
    """
    rows = await conn.fetch(_LIST, user_id, conversation_id, after_depth, limit)
    return [
        RawMessage(
            id=r["id"],
            conversation_id=r["conversation_id"],
            parent_id=r["parent_id"],
            sibling_ids=r["sibling_ids"],
            role=r["role"],
            content=r["content"],
            tool_calls=_raw(r["tool_calls"]),
            tool_results=_raw(r["tool_results"]),
            finish_reason=r["finish_reason"],
            model=r["model"],
            usage=_raw(r["usage"]),
            created_at=r["created_at"],
        )
        for r in rows
    ]


def _raw(text: str | None) -> msgspec.Raw | None:
    return None if text is None else msgspec.Raw(text)


async def list_history(
    conn: Conn, *, user_id: UUID, conversation_id: UUID, leaf_id: UUID | None = None
) -> list[Message]:
    """sql/messages/list_history.sql"""
    rows = await conn.fetch(_HISTORY, user_id, conversation_id, leaf_id)
    return [msgspec.convert(dict(r), Message) for r in rows]


async def get_answered_message(
    conn: Conn, *, user_id: UUID, conversation_id: UUID, message_id: UUID | None
) -> UUID | None:
    """sql/messages/get_answered_message.sql"""
    answered: UUID | None = await conn.fetchval(_ANSWERED, user_id, conversation_id, message_id)
    return answered


async def get_message_role(
    conn: Conn, *, user_id: UUID, conversation_id: UUID, message_id: UUID
) -> Role | None:
    """sql/messages/get_message_role.sql"""
    role: Role | None = await conn.fetchval(_ROLE, user_id, conversation_id, message_id)
    return role


async def update_message_content(
    conn: Conn,
    *,
    user_id: UUID,
    message_id: UUID,
    content: str,
    turn_id: UUID | None = None,
    epoch: int | None = None,
) -> int:
    """sql/messages/update_message_content.sql"""
    return rowcount(
        await conn.execute(
            _UPDATE_CONTENT, user_id, message_id, without_nul(content), turn_id, epoch
        )
    )


async def finish_message(
    conn: Conn,
    *,
    user_id: UUID,
    message_id: UUID,
    content: str,
    tool_calls: Sequence[ToolCall] | None,
    finish_reason: FinishReason,
    usage: TokenUsage | None = None,
    turn_id: UUID | None = None,
    epoch: int | None = None,
) -> Message | None:
    """sql/messages/finish_message.sql"""
    row = await conn.fetchrow(
        _FINISH,
        user_id,
        message_id,
        without_nul(content),
        tool_calls,
        finish_reason,
        usage,
        turn_id,
        epoch,
    )
    return None if row is None else msgspec.convert(dict(row), Message)
