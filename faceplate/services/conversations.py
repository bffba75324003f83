"""Conversations and their message pages, always scoped to their owner."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final
from uuid import UUID

import msgspec
from uuid6 import uuid7

from faceplate.api.pages import CursorCodec, Page, encode_cursor, page_of
from faceplate.db import Database
from faceplate.errors import Conflict, Invalid, NotFound
from faceplate.queries import conversations as q
from faceplate.queries import messages as mq
from faceplate.queries import turns as tq
from faceplate.services.models import Models
from faceplate.structs import Conversation, RawMessage, User

if TYPE_CHECKING:
    from faceplate.turns.registry import TurnRegistry

_NOT_FOUND: Final = "conversation not found"
_CONVERSATION_CURSOR: Final = CursorCodec(tuple[datetime, UUID])
_MESSAGE_CURSOR: Final = CursorCodec(int)


class ConversationPatch(msgspec.Struct, frozen=True, kw_only=True):
    """What a PATCH changes; UNSET leaves a field as it is."""

    title: str | msgspec.UnsetType | None = msgspec.UNSET
    model: str | msgspec.UnsetType | None = msgspec.UNSET
    archived: bool | msgspec.UnsetType = msgspec.UNSET


class Conversations:
    """Owner-scoped conversations; deleting one also stops its running turn."""

    def __init__(self, db: Database, turns: TurnRegistry, models: Models | None = None) -> None:
        self._db = db
        self._turns = turns
        self._models = models if models is not None else Models(("echo",))

    async def create(self, user: User, title: str | None, model: str | None = None) -> Conversation:
        """A new conversation of the user; Invalid for a model not offered."""
        model = self._models.check(model)
        async with self._db.connection() as conn:
            return await q.create_conversation(
                conn, id=uuid7(), user_id=user.id, title=title, model=model
            )

    async def get(self, user: User, conversation_id: UUID) -> Conversation:
        """The user's conversation; NotFound if it is not theirs."""
        async with self._db.connection() as conn:
            conv = await q.get_conversation(conn, user_id=user.id, conversation_id=conversation_id)
        if conv is None:
            raise NotFound(_NOT_FOUND)
        return conv

    async def page(
        self,
        user: User,
        limit: int,
        cursor: str | None,
        *,
        archived: bool = False,
        query: str | None = None,
    ) -> Page[Conversation]:
        """A page of the user's archived or other conversations, most recently updated first;
        with `query`, only those whose title or messages match it, each with a snippet."""
        after = _CONVERSATION_CURSOR.decode(cursor)
        after_updated_at, after_id = after if after else (None, None)
        async with self._db.connection() as conn:
            if query:
                rows = await q.search_conversations(
                    conn,
                    user_id=user.id,
                    query=query,
                    archived=archived,
                    after_updated_at=after_updated_at,
                    after_id=after_id,
                    limit=limit + 1,
                )
            else:
                rows = await q.list_conversations(
                    conn,
                    user_id=user.id,
                    archived=archived,
                    after_updated_at=after_updated_at,
                    after_id=after_id,
                    limit=limit + 1,
                )
        return page_of(rows, limit, lambda c: (c.updated_at, c.id))

    async def patch(
        self, user: User, conversation_id: UUID, patch: ConversationPatch
    ) -> Conversation:
        """Change the title, model or archived flag; NotFound if the conversation is not the
        user's, Invalid for a model not offered."""
        model = None if isinstance(patch.model, msgspec.UnsetType) else patch.model
        self._models.check(model)
        async with self._db.connection() as conn:
            conv = await q.update_conversation(
                conn,
                user_id=user.id,
                conversation_id=conversation_id,
                set_title=not isinstance(patch.title, msgspec.UnsetType),
                title=None if isinstance(patch.title, msgspec.UnsetType) else patch.title,
                set_model=not isinstance(patch.model, msgspec.UnsetType),
                model=model,
                archived=None if isinstance(patch.archived, msgspec.UnsetType) else patch.archived,
            )
        if conv is None:
            raise NotFound(_NOT_FOUND)
        return conv

    async def rename(self, user: User, conversation_id: UUID, title: str | None) -> Conversation:
        """Set the title; NotFound if the conversation is not the user's."""
        return await self.patch(user, conversation_id, ConversationPatch(title=title))

    async def set_active(self, user: User, conversation_id: UUID, message_id: UUID) -> Conversation:
        """Continue the branch of the newest leaf under `message_id`; NotFound if the
        conversation is not the user's or the message not in it, Conflict while a turn runs."""
        async with self._db.connection() as conn:
            conv = await q.update_active_message(
                conn, user_id=user.id, conversation_id=conversation_id, message_id=message_id
            )
            if conv is None:
                if not await q.get_conversation(
                    conn, user_id=user.id, conversation_id=conversation_id
                ):
                    raise NotFound(_NOT_FOUND)  # not theirs: 404 before 409
                if await tq.get_running_turn(conn, conversation_id=conversation_id) is not None:
                    raise Conflict("a turn is in progress in this conversation")
                raise NotFound("message not found in this conversation")
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
    ) -> Page[RawMessage]:
        """A page of the active branch's messages, root first, their tool calls, results and
        usage as stored (JSON-equal to `Message`'s); NotFound if not the user's.

        A message's depth is its position on every branch through it, so the cursor is the
        depth of the page's last message: the next page goes on from there even if another
        branch became active meanwhile."""
        after = _MESSAGE_CURSOR.decode(cursor)
        if after is not None and not 0 <= after < 2**31 - 1:
            raise Invalid("cursor is not valid")
        async with self._db.connection() as conn:
            rows = await mq.list_messages(
                conn,
                user_id=user.id,
                conversation_id=conversation_id,
                after_depth=after,
                limit=limit + 1,
            )
            if (
                not rows
                and await q.get_conversation(conn, user_id=user.id, conversation_id=conversation_id)
                is None
            ):
                raise NotFound(_NOT_FOUND)
        items = rows[:limit]
        last = (-1 if after is None else after) + len(items)
        more = len(rows) > limit
        return Page(items=items, next_cursor=encode_cursor(last) if more else None)
