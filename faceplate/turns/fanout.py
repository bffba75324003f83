"""Frames of a conversation to every socket open on it: the publish/subscribe seam.

A turn publishes each frame once, already encoded, by conversation id; every socket subscribed to
that conversation gets it in its own bounded Outbox. Nothing else knows where the sockets live,
so a later Fanout can carry frames between instances (PostgreSQL LISTEN/NOTIFY) behind the same
three calls.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Protocol
from uuid import UUID

from faceplate.turns.frames import CloseCode


class Outbox:
    """One socket's outgoing frames: bounded, filled without waiting, drained by its writer.

    A frame that would take it past `max_frames` frames or `max_chars` characters empties it and
    closes it with TOO_SLOW (1013, "try again later") at once, so a slow reader never holds
    memory or slows the publisher: the client reconnects and catches up from `ready`.
    `close(code)` without overflow lets the queued frames drain first.
    """

    __slots__ = ("_chars", "_frames", "_max_chars", "_max_frames", "_wake", "code", "on_overflow")

    def __init__(
        self,
        *,
        max_frames: int,
        max_chars: int,
        on_overflow: Callable[[], None] | None = None,
    ) -> None:
        self._frames: deque[str] = deque()
        self._chars = 0
        self._max_frames = max_frames
        self._max_chars = max_chars
        self.on_overflow = on_overflow
        self._wake = asyncio.Event()
        self.code: CloseCode | None = None
        """The close code once closed; frames already queued still drain unless it overflowed."""

    def offer(self, frame: str) -> bool:
        """Queue a frame without waiting; False when closed (now or already)."""
        if self.code is not None:
            return False
        if len(self._frames) >= self._max_frames or self._chars + len(frame) > self._max_chars:
            self._frames.clear()
            self._chars = 0
            self.close(CloseCode.TOO_SLOW)
            if self.on_overflow is not None:
                self.on_overflow()
            return False
        self._frames.append(frame)
        self._chars += len(frame)
        self._wake.set()
        return True

    def close(self, code: CloseCode) -> None:
        """Accept no more frames; the writer sends those queued, then closes with `code`."""
        if self.code is None:
            self.code = code
        self._wake.set()

    async def next(self) -> str | None:
        """The next frame, waiting for one; None once closed and drained."""
        while not self._frames:
            if self.code is not None:
                return None
            self._wake.clear()
            await self._wake.wait()
        frame = self._frames.popleft()
        self._chars -= len(frame)
        return frame

    def __len__(self) -> int:
        return len(self._frames)


class Fanout(Protocol):
    """Where a conversation's frames go; `publish` never waits, so sockets never slow a turn."""

    def subscribe(self, conversation_id: UUID, outbox: Outbox) -> None: ...

    def unsubscribe(self, conversation_id: UUID, outbox: Outbox) -> None: ...

    def publish(self, conversation_id: UUID, frame: str) -> None: ...

    def close(self, conversation_id: UUID, code: CloseCode) -> None:
        """Close every socket of the conversation after its queued frames (it was deleted)."""
        ...


class LocalFanout:
    """Every socket in this process: one set of outboxes per conversation."""

    def __init__(self) -> None:
        self._subscribers: dict[UUID, dict[Outbox, None]] = {}

    def subscribe(self, conversation_id: UUID, outbox: Outbox) -> None:
        self._subscribers.setdefault(conversation_id, {})[outbox] = None

    def unsubscribe(self, conversation_id: UUID, outbox: Outbox) -> None:
        subscribers = self._subscribers.get(conversation_id)
        if subscribers is None:
            return
        subscribers.pop(outbox, None)
        if not subscribers:
            del self._subscribers[conversation_id]

    def publish(self, conversation_id: UUID, frame: str) -> None:
        subscribers = self._subscribers.get(conversation_id)
        if not subscribers:
            return
        refused = [outbox for outbox in subscribers if not outbox.offer(frame)]
        for outbox in refused:
            self.unsubscribe(conversation_id, outbox)

    def close(self, conversation_id: UUID, code: CloseCode) -> None:
        for outbox in self._subscribers.pop(conversation_id, {}):
            outbox.close(code)

    def subscribers(self, conversation_id: UUID) -> int:
        """How many sockets are subscribed to the conversation."""
        return len(self._subscribers.get(conversation_id, ()))
