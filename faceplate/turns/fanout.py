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
from typing import Literal, Protocol
from uuid import UUID

from faceplate.turns.frames import CloseCode, ReadyFrame, ReadyTurn, TextDeltaFrame, encode


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


Snapshot = tuple[ReadyTurn, TextDeltaFrame | None]
"""A running turn as a joining socket needs it: `ready.turn`, then its text so far (if any)."""


class TurnsHere(Protocol):
    """The turns running in this instance, as a fan-out sees them (the registry)."""

    def snapshot(self, conversation_id: UUID) -> Snapshot | None:
        """The conversation's turn running here, if one is."""
        ...

    def stop_here(self, conversation_id: UUID, reason: Literal["cancelled", "deleted"]) -> bool:
        """Stop the conversation's turn if it runs here; False if none does."""
        ...

    async def wait(self, conversation_id: UUID) -> None:
        """Until the conversation's turn running here, if any, has ended."""
        ...

    def resolve(self, request_id: UUID) -> bool:
        """A request a turn here waits on was decided: wake it; False if none waits here."""
        ...


class Fanout(Protocol):
    """Where a conversation's frames go; `publish` never waits, so sockets never slow a turn.

    The turn registry binds itself first; `begin`, `publish` and `end` are the frames of
    turns running here, `join` and `leave` the sockets.
    """

    def bind(self, turns: TurnsHere) -> None: ...

    async def join(self, conversation_id: UUID, outbox: Outbox) -> None:
        """Queue `ready` (and a running turn's text so far) for a socket and subscribe it, so
        that it misses and repeats no frame."""
        ...

    def leave(self, conversation_id: UUID, outbox: Outbox) -> None: ...

    async def begin(self, conversation_id: UUID, turn_id: UUID) -> None:
        """A turn of this instance is about to send its first frame."""
        ...

    def publish(
        self, conversation_id: UUID, frame: str, *, turn_id: UUID | None = None, seq: int = 0
    ) -> None: ...

    def end(self, conversation_id: UUID, turn_id: UUID) -> None:
        """The turn of this instance has sent its turn_end."""
        ...

    def interrupted(self, conversation_id: UUID, turn_id: UUID) -> None:
        """This instance ended a dead instance's turn: its sockets get that turn's turn_end."""
        ...

    async def cancel_elsewhere(self, conversation_id: UUID) -> bool:
        """Ask the instance running the conversation's turn (not this one) to stop it; False
        if no other instance runs one."""
        ...

    async def decided_elsewhere(self, conversation_id: UUID, request_id: UUID) -> bool:
        """Tell the instance running the conversation's turn (not this one) that a request it
        waits on was decided; False if no other instance runs one."""
        ...

    def close(self, conversation_id: UUID, code: CloseCode) -> None:
        """Close every socket of the conversation after its queued frames (it was deleted)."""
        ...


class LocalFanout:
    """Every socket in this process: one set of outboxes per conversation."""

    def __init__(self) -> None:
        self._subscribers: dict[UUID, dict[Outbox, None]] = {}
        self._turns: TurnsHere | None = None

    def bind(self, turns: TurnsHere) -> None:
        self._turns = turns

    async def join(self, conversation_id: UUID, outbox: Outbox) -> None:
        # No await: the snapshot and the subscription are one step of the event loop.
        snapshot = None if self._turns is None else self._turns.snapshot(conversation_id)
        turn, catch_up = (None, None) if snapshot is None else snapshot
        outbox.offer(encode(ReadyFrame(conversation_id=conversation_id, turn=turn)))
        if catch_up is not None:
            outbox.offer(encode(catch_up))
        self.subscribe(conversation_id, outbox)

    def leave(self, conversation_id: UUID, outbox: Outbox) -> None:
        self.unsubscribe(conversation_id, outbox)

    async def begin(self, conversation_id: UUID, turn_id: UUID) -> None:
        return None

    def end(self, conversation_id: UUID, turn_id: UUID) -> None:
        return None

    def interrupted(self, conversation_id: UUID, turn_id: UUID) -> None:
        return None  # one instance: its own turns are never another's to end

    async def cancel_elsewhere(self, conversation_id: UUID) -> bool:
        return False

    async def decided_elsewhere(self, conversation_id: UUID, request_id: UUID) -> bool:
        return False

    def subscribe(self, conversation_id: UUID, outbox: Outbox) -> None:
        self._subscribers.setdefault(conversation_id, {})[outbox] = None

    def unsubscribe(self, conversation_id: UUID, outbox: Outbox) -> None:
        subscribers = self._subscribers.get(conversation_id)
        if subscribers is None:
            return
        subscribers.pop(outbox, None)
        if not subscribers:
            del self._subscribers[conversation_id]

    def publish(
        self, conversation_id: UUID, frame: str, *, turn_id: UUID | None = None, seq: int = 0
    ) -> None:
        subscribers = self._subscribers.get(conversation_id)
        if not subscribers:
            return
        refused = [outbox for outbox in subscribers if not outbox.offer(frame)]
        for outbox in refused:
            self.unsubscribe(conversation_id, outbox)

    def close(self, conversation_id: UUID, code: CloseCode) -> None:
        for outbox in self._subscribers.pop(conversation_id, {}):
            outbox.close(code)

    def close_all(self, code: CloseCode) -> None:
        """Close every socket after its queued frames (the instance is stopping)."""
        for conversation_id in list(self._subscribers):
            self.close(conversation_id, code)

    def subscribers(self, conversation_id: UUID) -> int:
        """How many sockets are subscribed to the conversation."""
        return len(self._subscribers.get(conversation_id, ()))
