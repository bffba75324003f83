"""Turns as database facts: claimed under the user's limits, held under a lease this instance
renews, ended with their status. Every instance sees every other's turns here."""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Collection
from typing import Final
from uuid import UUID

import msgspec

from faceplate.db import Database
from faceplate.errors import Conflict, NotFound, RateLimited
from faceplate.logs import security
from faceplate.queries import turns as q
from faceplate.queries.users import lock_user
from faceplate.structs import TurnFence, TurnRowStatus, User

_log = logging.getLogger(__name__)

# A claim refused for concurrent turns cannot know when one ends: try again in about this.
_BUSY_RETRY_S: Final = 5


class TurnInProgress(Conflict):
    """A turn is already running in this conversation."""


class TurnLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Per user, across every instance (CONTRACT §1)."""

    turns_per_user: int = 3
    turns_per_minute: int = 20


def new_instance_id() -> str:
    """A random instance name, for an instance started without FACEPLATE_INSTANCE_ID."""
    return f"i-{secrets.token_hex(5)}"


class TurnLeases:
    """This instance's side of the turns table: its id, its lease length, the user limits."""

    def __init__(
        self,
        db: Database,
        *,
        instance_id: str | None = None,
        lease_s: float = 15.0,
        limits: TurnLimits | None = None,
    ) -> None:
        self._db = db
        self.instance_id = instance_id or new_instance_id()
        self.lease_s = lease_s
        self.limits = limits or TurnLimits()

    @property
    def heartbeat_s(self) -> float:
        """How often the leases are renewed and expired ones looked for: a third of a lease, so
        a turn survives two missed beats and a dead owner's is found within 4/3 of a lease."""
        return self.lease_s / 3

    async def claim(self, user: User, conversation_id: UUID, turn_id: UUID) -> TurnFence:
        """A new running turn of this instance: TurnInProgress when one runs in the
        conversation on any instance, RateLimited past a user limit, NotFound when the
        conversation is not the user's. Opens a transaction; nothing else is stored."""
        limits = self.limits
        async with self._db.connection() as conn, conn.transaction():
            # Its own statement, first: the counts below then see every claim made before.
            if not await lock_user(conn, user_id=user.id):
                raise NotFound("conversation not found")
            counts = await q.count_user_turns(
                conn, user_id=user.id, conversation_id=conversation_id
            )
            if counts.busy:
                raise TurnInProgress()
            if counts.running >= limits.turns_per_user:
                self._refused(user, f"over {limits.turns_per_user} turns running at once")
                raise RateLimited(
                    f"at most {limits.turns_per_user} turns may run at once",
                    retry_after_s=_BUSY_RETRY_S,
                )
            if counts.recent >= limits.turns_per_minute:
                self._refused(user, f"over {limits.turns_per_minute} turns in 60 s")
                raise RateLimited(
                    f"at most {limits.turns_per_minute} turns may start in any 60 s",
                    retry_after_s=math.ceil(counts.window_frees_in_s),
                )
            fence = await q.create_turn(
                conn,
                id=turn_id,
                user_id=user.id,
                conversation_id=conversation_id,
                instance_id=self.instance_id,
                lease_s=self.lease_s,
            )
        if fence is None:  # under the user's lock no claim can race: the conversation is gone
            raise NotFound("conversation not found")
        return fence

    async def finish(self, fence: TurnFence, status: TurnRowStatus) -> bool:
        """End the turn; False when it was taken over meanwhile (or is gone)."""
        async with self._db.connection() as conn:
            return await q.finish_turn(conn, id=fence.id, epoch=fence.epoch, status=status)

    async def renew(self, turn_ids: Collection[UUID]) -> set[UUID]:
        """Extend the leases of these turns of this instance, in one statement; the ids still
        held."""
        if not turn_ids:
            return set()
        async with self._db.connection() as conn:
            held = await q.renew_turn_leases(
                conn, instance_id=self.instance_id, lease_s=self.lease_s, turn_ids=list(turn_ids)
            )
        return {fence.id for fence in held}

    def _refused(self, user: User, why: str) -> None:
        security("rate_limited", f"turn refused: {why}", user_id=user.id)
