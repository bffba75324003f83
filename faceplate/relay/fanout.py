"""The fan-out across instances: this instance's sockets, and every other instance's, behind the
`Fanout` seam the turn engine publishes to.

- Each instance with a socket on a conversation has a row in `turn_watchers` (renewed by its
  heartbeat). A turn that starts here reads the watchers once its claim is committed and sends
  each frame to their channels (`faceplate:<instance>`), in one ordered stream; a conversation
  nobody watches elsewhere costs no notification. Frames go as the sockets get them, coalesced
  as they are, in parts when larger than a notification takes.
- A socket joining a conversation whose turn runs elsewhere asks the owner (`Join`). The owner
  adds the instance to the turn's targets and answers in the same stream with its snapshot, so
  every frame after it follows; the joining side holds the frames that arrived meanwhile and
  passes on only those past the snapshot's seq. No gap, no duplicate.
- A gap in any stream (a lost notification, the listener reconnecting) closes the sockets of
  conversations owned elsewhere with 1013: they reconnect and catch up. Never a silent gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final
from uuid import UUID

import msgspec

from faceplate.cluster.envelope import Reassembler
from faceplate.cluster.notifier import Notifier
from faceplate.db import STALE, Database
from faceplate.errors import Unavailable
from faceplate.queries.turns import get_running_turn
from faceplate.relay import messages as m
from faceplate.relay.watches import Watches
from faceplate.turns import frames as f
from faceplate.turns.fanout import LocalFanout, Outbox, TurnsHere

_log = logging.getLogger(__name__)

JOIN_TIMEOUT_S: Final = 3.0
"""How long a joining socket waits for the owner's snapshot before it is told to reconnect."""
JOIN_RESEND_S: Final = 0.75
"""How often the ask is sent again meanwhile: one sent while either side's listener reconnects
is lost (NOTIFY keeps nothing for a channel nobody listens on); a second answer is ignored."""
_CLOSE_AFTER_S: Final = 5.0
_INTERRUPTED: Final = f.TurnError(
    code="interrupted", message="the instance running the turn stopped; it was ended"
)


@dataclass(eq=False)
class _Join:
    outbox: Outbox
    request: int
    held: list[tuple[UUID, int, str]] = field(default_factory=list)
    answer: asyncio.Future[tuple[m.Snap, list[str]]] | None = None


@dataclass
class _Remote:
    """A turn running elsewhere, as this instance has seen its frames."""

    turn_id: UUID
    seq: int
    ended: bool = False


class ClusterFanout:
    """Every socket of every instance (see the module's docstring)."""

    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        *,
        instance_id: str,
        lease_s: float,
        on_lag: Callable[[float], None] | None = None,
    ):
        self._db = db
        self._on_lag = on_lag  # seconds from a frame's NOTIFY elsewhere to its arrival here
        self._notifier = notifier
        self.instance_id = instance_id
        self.local = LocalFanout()
        self.watches = Watches(db, instance_id=instance_id, lease_s=lease_s)
        self._turns: TurnsHere | None = None
        self._targets: dict[UUID, tuple[UUID, set[str]]] = {}  # turns here: who else watches
        self._remote: dict[UUID, _Remote] = {}
        self._joining: dict[UUID, list[_Join]] = {}
        self._closing: dict[UUID, asyncio.TimerHandle] = {}
        self._reassembler = Reassembler(skip_sender=instance_id)
        self._requests = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def channels(self) -> list[str]:
        """What this instance listens on."""
        return [m.channel_of(self.instance_id), m.BROADCAST]

    def bind(self, turns: TurnsHere) -> None:
        self._turns = turns
        self.local.bind(turns)

    # --- sockets of this instance ---------------------------------------------------------------

    async def join(self, conversation_id: UUID, outbox: Outbox) -> None:
        join = _Join(outbox, next(self._requests))
        self._joining.setdefault(conversation_id, []).append(join)
        try:
            await self.watches.watch(conversation_id)  # from now on every new turn sends here
            snapshot = None if self._turns is None else self._turns.snapshot(conversation_id)
            if snapshot is not None:
                turn, catch_up = snapshot
                first = [f.encode(f.ReadyFrame(conversation_id=conversation_id, turn=turn))]
                if catch_up is not None:
                    first.append(f.encode(catch_up))
                self._admit(conversation_id, join, turn.turn_id, turn.seq, first)
                return
            running = await self._running_elsewhere(conversation_id)
            if running is None:
                idle = f.encode(f.ReadyFrame(conversation_id=conversation_id, turn=None))
                self._admit(conversation_id, join, None, 0, [idle])
                return
            answer = join.answer = asyncio.get_running_loop().create_future()
            ask = m.encode(m.Join(conversation_id, join.request, self.instance_id))
            try:
                async with asyncio.timeout(JOIN_TIMEOUT_S):
                    while not answer.done():
                        if outbox.code is not None:
                            return  # closed meanwhile (this instance's listener was lost)
                        self._send(running, ask)
                        await asyncio.wait((answer,), timeout=JOIN_RESEND_S)
                    snap, frames = answer.result()
            except TimeoutError:
                _log.warning(
                    "no snapshot of conversation %s from %s in time", conversation_id, running
                )
                outbox.close(f.CloseCode.TOO_SLOW)
                return
            self._admit(conversation_id, join, snap.turn_id, snap.seq, frames)
        except BaseException:
            self.watches.unwatch(conversation_id)
            raise
        finally:
            joins = self._joining.get(conversation_id, [])
            if join in joins:
                joins.remove(join)
            if not joins:
                self._joining.pop(conversation_id, None)

    def leave(self, conversation_id: UUID, outbox: Outbox) -> None:
        self.local.unsubscribe(conversation_id, outbox)
        self.watches.unwatch(conversation_id)
        if (
            self.local.subscribers(conversation_id) == 0
            and not self._joining.get(conversation_id)
            and self._targets.get(conversation_id) is None
        ):
            self._remote.pop(conversation_id, None)

    def _admit(
        self,
        conversation_id: UUID,
        join: _Join,
        turn_id: UUID | None,
        seq: int,
        first: list[str],
    ) -> None:
        """The socket's `ready` (and catch-up), then the frames held for it that follow, then
        live: all in one step of the event loop."""
        for frame in first:
            join.outbox.offer(frame)
        begun: set[UUID] = set()
        for held_turn, held_seq, frame in join.held:
            if held_turn == turn_id:
                if held_seq > seq:
                    join.outbox.offer(frame)
            elif held_seq <= 1 or held_turn in begun:  # a turn that began after the snapshot
                begun.add(held_turn)
                join.outbox.offer(frame)
        join.held.clear()
        if join.outbox.code is None:
            self.local.subscribe(conversation_id, join.outbox)

    async def _running_elsewhere(self, conversation_id: UUID) -> str | None:
        async with self._db.connection() as conn:
            running = await get_running_turn(conn, conversation_id=conversation_id)
        if running is None or running.instance_id == self.instance_id:
            return None
        return running.instance_id

    # --- turns of this instance -----------------------------------------------------------------

    async def begin(self, conversation_id: UUID, turn_id: UUID) -> None:
        try:
            watchers = await self.watches.others(conversation_id)
        except (Unavailable, *STALE) as e:  # its first write fails too; nobody misses a frame
            _log.warning("watchers of conversation %s unknown: %r", conversation_id, e)
            watchers = []
        self._targets[conversation_id] = (turn_id, set(watchers))

    def publish(
        self, conversation_id: UUID, frame: str, *, turn_id: UUID | None = None, seq: int = 0
    ) -> None:
        self._deliver(conversation_id, turn_id, seq, frame)
        target = self._targets.get(conversation_id)
        if target is not None and target[1] and turn_id == target[0]:
            message = m.encode(m.Frame(conversation_id, turn_id, seq, time.time()), frame)
            for instance in target[1]:
                self._send(instance, message)

    def end(self, conversation_id: UUID, turn_id: UUID) -> None:
        target = self._targets.get(conversation_id)
        if target is None or target[0] != turn_id:
            return
        del self._targets[conversation_id]
        message = m.encode(m.Ended(conversation_id, turn_id))
        for instance in target[1]:
            self._send(instance, message)

    def interrupted(self, conversation_id: UUID, turn_id: UUID) -> None:
        self._end_remote(conversation_id, turn_id)
        self._spawn(self._tell_watchers(conversation_id, m.Interrupted(conversation_id, turn_id)))

    async def _tell_watchers(self, conversation_id: UUID, header: m.Header) -> None:
        with contextlib.suppress(Unavailable, *STALE):
            for instance in await self.watches.others(conversation_id):
                self._send(instance, m.encode(header))

    async def cancel_elsewhere(self, conversation_id: UUID) -> bool:
        running = await self._running_elsewhere(conversation_id)
        if running is None:
            return False
        self._send(running, m.encode(m.Cancel(conversation_id)))
        return True

    async def decided_elsewhere(self, conversation_id: UUID, request_id: UUID) -> bool:
        running = await self._running_elsewhere(conversation_id)
        if running is None:
            return False
        self._send(running, m.encode(m.Decided(conversation_id, request_id)))
        return True

    def close(self, conversation_id: UUID, code: f.CloseCode) -> None:
        """The conversation was deleted here: every instance stops its turn and closes its
        sockets once the turn has ended."""
        self._notify(m.BROADCAST, m.encode(m.Deleted(conversation_id)))
        self._close_after_turn(conversation_id, code)

    # --- what other instances send ---------------------------------------------------------------

    def on_notify(self, channel: str, payload: str) -> None:
        """A notification on one of `channels` (the listener's callback)."""
        dropped = self._reassembler.dropped
        message = self._reassembler.feed(payload)
        if self._reassembler.dropped != dropped:
            _log.warning("a message's parts stopped coming: notifications lost")
            self.resync()
        if message is not None:
            self._handle(message.sender, message.body.decode())

    def _handle(self, sender: str, message: str) -> None:
        try:
            header, frames = m.decode(message)
        except msgspec.DecodeError:
            _log.warning("a message from %s that is none: %.80r", sender, message)
            return
        match header:
            case m.Frame(conversation_id=c, turn_id=t, seq=seq, sent_at=sent_at):
                if self._on_lag is not None and sent_at:
                    self._on_lag(time.time() - sent_at)
                self._remote_frame(c, t, seq, frames[0] if frames else "")
            case m.Ended(conversation_id=c, turn_id=t):
                remote = self._remote.get(c)
                if remote is not None and remote.turn_id == t:
                    remote.ended = True
                self._closed_turn(c)
            case m.Join(conversation_id=c, request=r, reply_to=instance):
                self._answer_join(c, r, instance)
            case m.Snap(conversation_id=c, request=r):
                for join in self._joining.get(c, []):
                    if join.request == r and join.answer is not None and not join.answer.done():
                        join.answer.set_result((header, frames))
            case m.Cancel(conversation_id=c):
                if self._turns is not None:
                    self._turns.stop_here(c, "cancelled")
            case m.Decided(request_id=r):
                if self._turns is not None:
                    self._turns.resolve(r)
            case m.Deleted(conversation_id=c):
                if self._turns is not None and self._turns.stop_here(c, "deleted"):
                    self._spawn(self._close_when_ended(c))
                else:
                    self._close_after_turn(c, f.CloseCode.NOT_FOUND)
            case m.Interrupted(conversation_id=c, turn_id=t):
                self._end_remote(c, t)

    def _remote_frame(self, conversation_id: UUID, turn_id: UUID, seq: int, frame: str) -> None:
        remote = self._remote.get(conversation_id)
        if remote is not None and remote.turn_id == turn_id:
            if remote.ended or seq != remote.seq + 1:
                if not remote.ended:  # frames of one turn come gapless, or not at all
                    _log.warning(
                        "conversation %s: frame %d after %d", conversation_id, seq, remote.seq
                    )
                    self._drop_sockets(conversation_id)
                return
            remote.seq = seq
        else:
            self._remote[conversation_id] = _Remote(turn_id, seq)
        self._deliver(conversation_id, turn_id, seq, frame)

    def _answer_join(self, conversation_id: UUID, request: int, instance: str) -> None:
        snapshot = None if self._turns is None else self._turns.snapshot(conversation_id)
        target = self._targets.get(conversation_id)
        if snapshot is None or target is None:
            ready = f.encode(f.ReadyFrame(conversation_id=conversation_id, turn=None))
            self._send(instance, m.encode(m.Snap(conversation_id, request, None, 0), ready))
            return
        turn, catch_up = snapshot
        target[1].add(instance)  # from this frame on, in the same stream as the snapshot
        frames = [f.encode(f.ReadyFrame(conversation_id=conversation_id, turn=turn))]
        if catch_up is not None:
            frames.append(f.encode(catch_up))
        header = m.Snap(conversation_id, request, turn.turn_id, turn.seq)
        self._send(instance, m.encode(header, *frames))

    def _end_remote(self, conversation_id: UUID, turn_id: UUID) -> None:
        """A turn that ran elsewhere was ended by a takeover: its turn_end, numbered after the
        last frame the sockets here got."""
        remote = self._remote.get(conversation_id)
        if remote is None or remote.turn_id != turn_id or remote.ended:
            return
        remote.ended = True
        remote.seq += 1
        end = f.TurnEndFrame(turn_id=turn_id, seq=remote.seq, status="failed", error=_INTERRUPTED)
        self._deliver(conversation_id, turn_id, remote.seq, f.encode(end))
        self._closed_turn(conversation_id)

    # --- faults ---------------------------------------------------------------------------------

    def lost(self) -> None:
        """The listener lost its connection: what was sent meanwhile is lost."""
        self._reassembler.reset()
        self.resync()

    def resync(self) -> None:
        """Close the sockets of every conversation whose turn runs elsewhere (1013): they
        reconnect and catch up, rather than miss a frame."""
        for conversation_id in list(self._remote):
            self._drop_sockets(conversation_id)
        for joins in list(self._joining.values()):
            for join in joins:
                if join.answer is not None and not join.answer.done():
                    join.outbox.close(f.CloseCode.TOO_SLOW)

    def _drop_sockets(self, conversation_id: UUID) -> None:
        self._remote.pop(conversation_id, None)
        self.local.close(conversation_id, f.CloseCode.TOO_SLOW)
        for join in self._joining.get(conversation_id, []):
            join.outbox.close(f.CloseCode.TOO_SLOW)

    # --- internals ------------------------------------------------------------------------------

    def _deliver(self, conversation_id: UUID, turn_id: UUID | None, seq: int, frame: str) -> None:
        self.local.publish(conversation_id, frame)
        if turn_id is not None:
            for join in self._joining.get(conversation_id, []):
                join.held.append((turn_id, seq, frame))

    def _close_after_turn(self, conversation_id: UUID, code: f.CloseCode) -> None:
        remote = self._remote.get(conversation_id)
        if remote is None or remote.ended:
            self.local.close(conversation_id, code)
            return
        loop = asyncio.get_running_loop()
        self._closing[conversation_id] = loop.call_later(
            _CLOSE_AFTER_S, self.local.close, conversation_id, code
        )

    async def _close_when_ended(self, conversation_id: UUID) -> None:
        if self._turns is not None:
            await self._turns.wait(conversation_id)
        self.local.close(conversation_id, f.CloseCode.NOT_FOUND)

    def _closed_turn(self, conversation_id: UUID) -> None:
        timer = self._closing.pop(conversation_id, None)
        if timer is not None:
            timer.cancel()
            self.local.close(conversation_id, f.CloseCode.NOT_FOUND)

    def _send(self, instance: str, message: str) -> None:
        self._notify(m.channel_of(instance), message)

    def _notify(self, channel: str, message: str) -> None:
        self._notifier.send(channel, message.encode())

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
