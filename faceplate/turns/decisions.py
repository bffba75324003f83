"""Turns of this process waiting for a person's decision, and the one seam that wakes them.

A decision is stored first (whoever stores it first wins: sql/tool_requests/decide_*.sql), then
`resolve(request_id)` wakes the turn waiting on that request, which reads the decision back
from the database. So whatever learns that a decision was stored — the socket that stored it on
this instance, or a control message from the instance that did — needs only the request's id.
A waiter also reads its request every `poll_interval_s`, so a decision stored where no message
reaches this instance still arrives, a little later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final
from uuid import UUID

from faceplate.db import STALE, Database
from faceplate.errors import Unavailable
from faceplate.queries import tool_requests as q
from faceplate.queries.tool_requests import Decision

_log = logging.getLogger(__name__)

GONE: Final = Decision(decision=None, decided_by=None, content=None)
"""What `wait` answers when the request is no longer stored (its conversation was deleted)."""


class Decisions:
    """Request id → the waiting turn's wake-up, for this process."""

    def __init__(self, db: Database, *, poll_interval_s: float = 2.0) -> None:
        self._db = db
        self._poll_interval_s = poll_interval_s
        self._waiting: dict[UUID, asyncio.Event] = {}

    def resolve(self, request_id: UUID) -> bool:
        """The request's decision was stored: wake its waiter. False if none waits here."""
        event = self._waiting.get(request_id)
        if event is None:
            return False
        event.set()
        return True

    def waiting(self, request_id: UUID) -> bool:
        return request_id in self._waiting

    async def wait(self, request_id: UUID, timeout_s: float) -> Decision | None:
        """The stored decision once there is one; None after `timeout_s` without; GONE when the
        request was deleted. Holds no pooled connection while it waits."""
        event = asyncio.Event()
        self._waiting[request_id] = event
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(remaining, self._poll_interval_s)):
                        await event.wait()
                event.clear()
                decision = await self._read(request_id)
                if decision is None:
                    return GONE
                if decision.decision is not None:
                    return decision
        finally:
            del self._waiting[request_id]

    async def _read(self, request_id: UUID) -> Decision | None:
        try:
            async with self._db.connection() as conn:
                return await q.get_tool_request_decision(conn, id=request_id)
        except (Unavailable, *STALE) as e:
            # Still undecided as far as this waiter knows; the next poll reads it again.
            _log.warning("could not read the decision of request %s: %r", request_id, e)
            return Decision(decision=None, decided_by=None, content=None)
