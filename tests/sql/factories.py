"""Rows for the SQL tests, made through the query functions themselves."""

from __future__ import annotations

from uuid import UUID

from uuid6 import uuid7

from faceplate.db import Conn
from faceplate.queries.conversations import create_conversation
from faceplate.queries.messages import create_message
from faceplate.queries.users import upsert_user
from faceplate.structs import Conversation, FinishReason, Message, Role, User


async def make_user(conn: Conn, name: str = "ada") -> User:
    return await upsert_user(
        conn, id=uuid7(), subject_id=f"sub-{name}", email=f"{name}@example.com"
    )


async def make_conversation(conn: Conn, user_id: UUID, title: str | None = None) -> Conversation:
    return await create_conversation(conn, id=uuid7(), user_id=user_id, title=title)


async def make_message(
    conn: Conn,
    user_id: UUID,
    conversation_id: UUID,
    *,
    role: Role = "user",
    content: str = "hello",
    finish_reason: FinishReason | None = None,
) -> Message:
    message = await create_message(
        conn,
        user_id=user_id,
        conversation_id=conversation_id,
        id=uuid7(),
        role=role,
        content=content,
        finish_reason=finish_reason,
    )
    assert message is not None
    return message
