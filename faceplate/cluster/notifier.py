"""The instance's sender of notifications: one ordered queue, few commits.

Every notification goes through one queue and one dedicated connection (outside the pool, so a
busy pool never delays a frame, and in the order `send` was called). A notifying commit takes a
lock that every database of the cluster shares, so while one batch commits, whatever is sent
meanwhile waits and goes in the next batch, as one statement and one commit
(sql/cluster/notify.sql): under load the number of commits stays near the number of round trips,
not the number of messages.

A message is cut into NOTIFY payloads by `envelope.split`; all parts of a message are in one
batch, so they are delivered together. When the database is away the batch is tried again, in
order, on a new connection; a statement that failed after its commit may so be delivered twice,
which the `Reassembler` recognises by its message id. Messages sent while more than
`max_queued_bytes` wait are dropped (counted, and reported to `on_dropped`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import asyncpg

from faceplate.cluster.envelope import MAX_PAYLOAD, split
from faceplate.db import STALE
from faceplate.queries.cluster import notify

_log = logging.getLogger(__name__)

_FAULTS: Final = (*STALE, TimeoutError, asyncpg.PostgresError)
_FIRST_BACKOFF_S: Final = 0.05
_MAX_BACKOFF_S: Final = 1.0
_MAX_CHANNEL: Final = 63  # NAMEDATALEN - 1
# SQLSTATE classes of a database that is away or busy, not of a statement it refuses:
# connection exception, insufficient resources, operator intervention (a restart).
_TRANSIENT: Final = ("08", "53", "57")


@dataclass(slots=True)
class _Queued:
    number: int
    channel: str
    parts: list[str]
    size: int


@dataclass(slots=True)
class NotifierStats:
    """What the notifier did since it started."""

    messages: int = 0
    """Messages committed."""
    notifications: int = 0
    """NOTIFY payloads committed (a large message takes several)."""
    commits: int = 0
    """Transactions that committed notifications."""
    failures: int = 0
    """Batches that failed and were tried again."""
    dropped: int = 0
    """Messages dropped because too much waited."""


class Notifier:
    """Sends messages as NOTIFY in the order of `send`, batching what waits into one commit."""

    def __init__(
        self,
        dsn: str,
        sender: str,
        *,
        max_batch: int = 1000,
        max_queued_bytes: int = 64 * 1024 * 1024,
        statement_timeout_s: float = 5.0,
        on_dropped: Callable[[int], None] | None = None,
        application_name: str = "faceplate notifier",
        payload_limit: int = MAX_PAYLOAD,
    ) -> None:
        self._dsn = dsn
        self.sender = sender
        self._max_batch = max_batch
        self._max_queued = max_queued_bytes
        self._timeout = statement_timeout_s
        self._on_dropped = on_dropped
        self._application_name = application_name
        self._limit = payload_limit
        # Increasing across restarts of a sender of the same name, so a listener's duplicate
        # check never mistakes a new message for an old one.
        self._next_id = time.time_ns()
        self._queue: deque[_Queued] = deque()
        self._queued_bytes = 0
        self._sent_number = 0
        self._done_number = 0
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self.stats = NotifierStats()

    @property
    def queued(self) -> int:
        """Messages waiting to be committed."""
        return len(self._queue)

    def send(self, channel: str, payload: bytes) -> int:
        """Queue a message for `channel` without waiting; its id (what `envelope.Part` says)."""
        if not channel or len(channel.encode()) > _MAX_CHANNEL:
            raise ValueError(f"a channel name is 1 to {_MAX_CHANNEL} bytes: {channel!r}")
        message_id = self._next_id
        self._next_id += 1
        parts = split(self.sender, message_id, payload, limit=self._limit)
        size = sum(len(p) for p in parts)
        if self._queued_bytes + size > self._max_queued and self._queue:
            self._dropped(1)
            return message_id
        self._sent_number += 1
        self._queue.append(_Queued(self._sent_number, channel, parts, size))
        self._queued_bytes += size
        self._wake.set()
        return message_id

    async def flush(self) -> None:
        """Wait until every message sent so far is committed (or dropped)."""
        target = self._sent_number
        while self._done_number < target:
            if self._task is None:
                raise RuntimeError("the notifier is not started")
            progress = self._progress
            await progress.wait()

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("the notifier is already started")
        self._task = asyncio.create_task(self._run(), name="faceplate-notifier")

    async def stop(self, *, grace_s: float = 5.0) -> None:
        """Send what waits (for up to `grace_s`), then close the connection."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self.flush(), timeout=grace_s)
        except TimeoutError:
            _log.warning("%d notification(s) not sent at stop", len(self._queue))
        task, self._task = self._task, None
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        self._progressed()
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), timeout=self._timeout)
            except _FAULTS:
                conn.terminate()

    # --- the sending task -----------------------------------------------------------------------

    def _dropped(self, messages: int) -> None:
        self.stats.dropped += messages
        if self._on_dropped is not None:
            self._on_dropped(messages)

    def _progressed(self) -> None:
        self._progress.set()
        self._progress = asyncio.Event()

    def _batch(self) -> list[_Queued]:
        batch = [self._queue.popleft()]
        parts = len(batch[0].parts)
        while self._queue and parts + len(self._queue[0].parts) <= self._max_batch:
            item = self._queue.popleft()
            parts += len(item.parts)
            batch.append(item)
        return batch

    async def _run(self) -> None:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            batch = self._batch()
            channels = [item.channel for item in batch for _ in item.parts]
            payloads = [part for item in batch for part in item.parts]
            sent = await self._commit(channels, payloads)
            self._queued_bytes -= sum(item.size for item in batch)
            if sent:
                self.stats.messages += len(batch)
                self.stats.notifications += len(payloads)
                self.stats.commits += 1
            else:
                self._dropped(len(batch))
            self._done_number = batch[-1].number
            self._progressed()

    async def _commit(self, channels: list[str], payloads: list[str]) -> bool:
        """One statement, tried again on a new connection until it commits; False when the
        database refused it for what it is (not for being away): then it is dropped."""
        backoff = _FIRST_BACKOFF_S
        while True:
            try:
                conn = self._conn
                if conn is None or conn.is_closed():
                    conn = self._conn = await asyncpg.connect(
                        self._dsn,
                        timeout=self._timeout,
                        command_timeout=self._timeout,
                        server_settings={"application_name": self._application_name},
                    )
                await notify(conn, channels=channels, payloads=payloads)
                return True
            except asyncpg.PostgresError as e:
                if (e.sqlstate or "")[:2] not in _TRANSIENT:
                    _log.error("notifications refused, dropped: %s", e)
                    return False
                self._lost(e)
            except _FAULTS as e:
                self._lost(e)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF_S)

    def _lost(self, e: BaseException) -> None:
        self.stats.failures += 1
        _log.warning("notifications not sent, trying again: %s", type(e).__name__)
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()
