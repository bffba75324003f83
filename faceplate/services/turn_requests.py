"""What a socket checks before it starts a turn: the user's daily tokens, and the branch the
frame names (CONTRACT §10 `user_message` with `parent_id`, `regenerate`)."""

from __future__ import annotations

from uuid import UUID

import msgspec

from faceplate.db import Database
from faceplate.errors import Invalid
from faceplate.queries import messages as mq
from faceplate.services.usage import Usage
from faceplate.structs import User
from faceplate.turns.branch import BranchPoint


class TurnRequests:
    """Turns a client frame into where its turn starts; raises before anything is stored."""

    def __init__(self, db: Database, usage: Usage) -> None:
        self._db = db
        self._usage = usage

    async def for_message(
        self, user: User, conversation_id: UUID, parent_id: UUID | msgspec.UnsetType | None
    ) -> BranchPoint | None:
        """A `user_message`: None continues the active branch; RateLimited at the daily token
        limit, Invalid for a parent that is not a message of the conversation."""
        await self._usage.check_quota(user)
        if isinstance(parent_id, msgspec.UnsetType):
            return None
        if parent_id is not None:
            async with self._db.connection() as conn:
                role = await mq.get_message_role(
                    conn, user_id=user.id, conversation_id=conversation_id, message_id=parent_id
                )
            if role is None:
                raise Invalid("parent_id: no such message in this conversation")
        return BranchPoint(parent_id=parent_id)

    async def for_regenerate(
        self, user: User, conversation_id: UUID, message_id: UUID | None
    ) -> BranchPoint:
        """A `regenerate`: the user message answered again; RateLimited at the daily token
        limit, Invalid when there is nothing to answer again."""
        await self._usage.check_quota(user)
        async with self._db.connection() as conn:
            answered = await mq.get_answered_message(
                conn, user_id=user.id, conversation_id=conversation_id, message_id=message_id
            )
        if answered is None:
            what = "message_id: no such message" if message_id else "the conversation has none"
            raise Invalid(f"nothing to regenerate: {what}")
        return BranchPoint(parent_id=answered, regenerate=True)
