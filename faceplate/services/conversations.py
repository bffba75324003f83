"""Conversations and their message pages, always scoped to their owner."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final
from uuid import UUID

from uuid6 import uuid7

from faceplate.api.pages import CursorCodec, Page, page_of
from faceplate.db import Database
from faceplate.errors import NotFound
from faceplate.queries import conversations as q
from faceplate.queries import messages as mq
from faceplate.structs import Conversation, Message, User

if TYPE_CHECKING:
    from faceplate.turns.registry import TurnRegistry

_NOT_FOUND: Final = "conversation not found"
_CONVERSATION_CURSOR: Final = CursorCodec(tuple[datetime, UUID])
_MESSAGE_CURSOR: Final = CursorCodec(tuple[datetime, UUID])


class Conversations:
    """Owner-scoped conversations; deleting one also stops its running turn."""

    def __init__(self, db: Database, turns: TurnRegistry) -> None:
        self._db = db
        self._turns = turns

    async def create(self, user: User, title: str | None) -> Conversation:
        """A new conversation of the user."""
        async with self._db.connection() as conn:
            return await q.create_conversation(conn, id=uuid7(), user_id=user.id, title=title)

    async def get(self, user: User, conversation_id: UUID) -> Conversation:
        """The user's conversation; NotFound if it is not theirs."""
        async with self._db.connection() as conn:
            conv = await q.get_conversation(conn, user_id=user.id, conversation_id=conversation_id)
        if conv is None:
            raise NotFound(_NOT_FOUND)
        return conv

    async def page(self, user: User, limit: int, cursor: str | None) -> Page[Conversation]:
        """A page of the user's conversations, most recently updated first."""
        after = _CONVERSATION_CURSOR.decode(cursor)
        async with self._db.connection() as conn:
            rows = await q.list_conversations(
                conn,
                user_id=user.id,
                after_updated_at=after[0] if after else None,
                after_id=after[1] if after else None,
                limit=limit + 1,
            )
        return page_of(rows, limit, lambda c: (c.updated_at, c.id))

    async def rename(self, user: User, conversation_id: UUID, title: str | None) -> Conversation:
        """Set the title; NotFound if the conversation is not the user's."""
        async with self._db.connection() as conn:
            conv = await q.update_conversation_title(
                conn, user_id=user.id, conversation_id=conversation_id, title=title
            )
        if conv is None:
            raise NotFound(_NOT_FOUND)
        return conv

    async def delete(self, user: User, conversation_id: UUID) -> None:
        """Delete the conversation and its messages, then cancel its running turn (which ends
        `cancelled`) and close its sockets; NotFound if it is not the user's."""
        async with self._db.connection() as conn:
            deleted = await q.delete_conversation(
                conn, user_id=user.id, conversation_id=conversation_id
            )
        if not deleted:
            raise NotFound(_NOT_FOUND)
        await self._turns.cancel_conversation(conversation_id)

    async def messages(
        self, user: User, conversation_id: UUID, limit: int, cursor: str | None
    ) -> Page[Message]:
        """A page of the conversation's messages, oldest first; NotFound if not the user's."""
        after = _MESSAGE_CURSOR.decode(cursor)
        async with self._db.connection() as conn:
            rows = await mq.list_messages(
                conn,
                user_id=user.id,
                conversation_id=conversation_id,
                after_created_at=after[0] if after else None,
                after_id=after[1] if after else None,
                limit=limit + 1,
            )
            if (
                not rows
                and await q.get_conversation(conn, user_id=user.id, conversation_id=conversation_id)
                is None
            ):
                raise NotFound(_NOT_FOUND)
        return page_of(rows, limit, lambda m: (m.created_at, m.id))
