"""Which conversations this instance has sockets on, kept in `turn_watchers` for the others."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from uuid import UUID

from faceplate.db import STALE, Database
from faceplate.errors import Unavailable
from faceplate.queries import turns as q

_log = logging.getLogger(__name__)


class Watches:
    """A count of sockets per conversation; the first one writes the row (committed before the
    socket looks for a running turn, so a turn claimed after that sees it), the heartbeat renews
    the rows still counted and drops the others. One lock orders the two, so a renewal never
    drops the row of a socket that joined while it ran."""

    def __init__(self, db: Database, *, instance_id: str, lease_s: float) -> None:
        self._db = db
        self.instance_id = instance_id
        self.lease_s = lease_s
        self._counts: dict[UUID, int] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def watch(self, conversation_id: UUID) -> None:
        """Count a socket; the first of the conversation writes its row."""
        count = self._counts.get(conversation_id, 0)
        self._counts[conversation_id] = count + 1
        if count:
            return
        async with self._lock, self._db.connection() as conn:
            await q.upsert_turn_watcher(
                conn,
                conversation_id=conversation_id,
                instance_id=self.instance_id,
                lease_s=self.lease_s,
            )

    def unwatch(self, conversation_id: UUID) -> None:
        """A socket left; its row goes with the next renewal once none is left."""
        count = self._counts.get(conversation_id, 0) - 1
        if count > 0:
            self._counts[conversation_id] = count
        else:
            self._counts.pop(conversation_id, None)

    def watched(self) -> list[UUID]:
        return list(self._counts)

    async def others(self, conversation_id: UUID) -> list[str]:
        """The other live instances with a socket on the conversation."""
        async with self._db.connection() as conn:
            return await q.list_turn_watchers(
                conn, conversation_id=conversation_id, instance_id=self.instance_id
            )

    async def renew(self) -> None:
        async with self._lock, self._db.connection() as conn:
            await q.renew_turn_watchers(
                conn,
                instance_id=self.instance_id,
                conversation_ids=list(self._counts),
                lease_s=self.lease_s,
            )
            await q.delete_expired_watchers(conn)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="watch heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                await self.renew()
            except (Unavailable, *STALE) as e:
                _log.warning("watch heartbeat: database away: %r", e)
            except Exception:
                _log.exception("watch heartbeat failed")
