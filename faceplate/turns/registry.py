"""The running turns of this instance, by conversation, and how sockets reach them.

Which turn runs where is a fact of the database (`TurnLeases`): a turn is claimed there first,
its lease renewed by this instance's heartbeat, and a dead instance's turns are taken over and
ended by a survivor's sweep. This registry holds only this instance's own turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Final, Literal
from uuid import UUID

from uuid6 import uuid7

from faceplate.agents.base import ChatModel
from faceplate.db import STALE, Database
from faceplate.errors import Unavailable
from faceplate.queries import turns as q
from faceplate.structs import TurnFence, TurnRowStatus, User
from faceplate.turns import frames as f
from faceplate.turns.branch import BranchPoint
from faceplate.turns.channel import TurnChannel
from faceplate.turns.decisions import Decisions
from faceplate.turns.fanout import Fanout, LocalFanout, Outbox, Snapshot
from faceplate.turns.leases import TurnInProgress, TurnLeases
from faceplate.turns.observer import UNWATCHED, TurnObserver
from faceplate.turns.runner import StopReason, TurnConfig, TurnRunner
from faceplate.turns.takeover import end_interrupted, take_over_dead_turns
from faceplate.turns.tools import ToolSourceFactory

__all__ = ["TurnInProgress", "TurnRegistry"]

_log = logging.getLogger(__name__)
# Ended turns are kept a day (only the last minute's are counted); swept this often.
_FORGET_EVERY_S: Final = 600.0


@dataclass(eq=False)
class _Running:
    runner: TurnRunner
    task: asyncio.Task[None]


class TurnRegistry:
    """At most one running turn per conversation across every instance; turns outlive the
    sockets that start them.

    Frames go out through `fanout`, so a socket only subscribes to its conversation: `join`
    queues its `ready` (and the text so far of a running turn) and subscribes it, missing and
    repeating no frame. `open()` starts the heartbeat: it renews this instance's leases, stops
    a turn whose lease was taken over, and ends dead instances' turns.
    """

    def __init__(
        self,
        *,
        db: Database,
        model: ChatModel,
        tools: ToolSourceFactory,
        config: TurnConfig,
        fanout: Fanout | None = None,
        leases: TurnLeases | None = None,
        shutdown_grace_s: float = 30.0,
        observer: TurnObserver | None = None,
        decisions: Decisions | None = None,
    ) -> None:
        self._db = db
        self.decisions = decisions if decisions is not None else Decisions(db)
        self._model = model
        self._tools = tools
        self.config = config
        self.fanout: Fanout = fanout if fanout is not None else LocalFanout()
        self.leases = leases if leases is not None else TurnLeases(db)
        self._grace = shutdown_grace_s
        self._observer = observer
        self._running: dict[UUID, _Running] = {}
        self._closed = False
        self._heartbeat: asyncio.Task[None] | None = None
        self.fanout.bind(self)

    @property
    def instance_id(self) -> str:
        return self.leases.instance_id

    # --- turns ----------------------------------------------------------------------------------

    async def start(
        self,
        user: User,
        conversation_id: UUID,
        content: str,
        *,
        branch: BranchPoint | None = None,
    ) -> UUID:
        """Claim the conversation and start a turn as its own task; its id. Without `branch`
        the turn continues the active leaf (the caller has checked that a branch's message is
        the conversation's).

        TurnInProgress if a turn runs in it on any instance, RateLimited past the user's
        limits, Unavailable while this instance stops (or the database is away), NotFound if the
        conversation is not the user's. A refused turn stores nothing.
        """
        if self._closed:
            raise Unavailable("the server is shutting down")
        if conversation_id in self._running:
            raise TurnInProgress()
        turn_id = uuid7()
        try:
            fence = await self.leases.claim(user, conversation_id, turn_id)
        except STALE as e:
            raise Unavailable("database unavailable") from e
        ending = self._running.get(conversation_id)
        if ending is not None:  # the last turn ended its row, but not yet its task
            await asyncio.wait({ending.task})
        if self._closed:
            await self._release(fence, "cancelled")
            raise Unavailable("the server is shutting down")
        channel = TurnChannel(
            self.fanout, conversation_id, turn_id, frame_interval_s=self.config.frame_interval_s
        )
        runner = TurnRunner(
            db=self._db,
            model=self._model,
            tools=self._tools,
            config=self.config,
            user=user,
            conversation_id=conversation_id,
            content=content,
            channel=channel,
            fence=fence,
            release=lambda status: self._release(fence, status),
            watch=UNWATCHED if self._observer is None else self._observer.turn_started(),
            decisions=self.decisions,
            branch=branch,
        )
        task = asyncio.create_task(self._run(conversation_id, runner), name=f"turn {turn_id}")
        self._running[conversation_id] = _Running(runner, task)
        return turn_id

    def running(self, conversation_id: UUID) -> UUID | None:
        """The id of the conversation's turn running in this instance, if any."""
        running = self._running.get(conversation_id)
        return None if running is None else running.runner.channel.turn_id

    def snapshot(self, conversation_id: UUID) -> Snapshot | None:
        """The conversation's turn running here, as a joining socket needs it."""
        running = self._running.get(conversation_id)
        return None if running is None else running.runner.channel.snapshot()

    async def join(self, conversation_id: UUID, outbox: Outbox) -> None:
        """Queue `ready` for a socket, then the running turn's text so far, and subscribe it."""
        await self.fanout.join(conversation_id, outbox)

    def leave(self, conversation_id: UUID, outbox: Outbox) -> None:
        """Unsubscribe a socket; its conversation's turn goes on."""
        self.fanout.leave(conversation_id, outbox)

    async def cancel(self, conversation_id: UUID) -> bool:
        """Stop the running turn, here or on another instance (its partial text is stored as
        cancelled); False if none runs."""
        if self._stop(conversation_id, "cancelled"):
            return True
        return await self.fanout.cancel_elsewhere(conversation_id)

    def resolve(self, request_id: UUID) -> bool:
        """A request a turn here waits on was decided (Decisions.resolve)."""
        return self.decisions.resolve(request_id)

    async def decided(self, conversation_id: UUID, request_id: UUID) -> None:
        """A request of the conversation's turn was decided: wake the turn, here or on the
        instance running it (which, unreached, finds the decision at its next poll)."""
        if not self.decisions.resolve(request_id):
            await self.fanout.decided_elsewhere(conversation_id, request_id)

    def stop_here(self, conversation_id: UUID, reason: Literal["cancelled", "deleted"]) -> bool:
        """Stop the conversation's turn if it runs here; False if none does."""
        return self._stop(conversation_id, reason)

    async def wait(self, conversation_id: UUID) -> None:
        """Until the conversation's running turn, if any, has ended (waiting never cancels it)."""
        running = self._running.get(conversation_id)
        if running is not None:
            await asyncio.wait({running.task})

    async def cancel_conversation(self, conversation_id: UUID) -> None:
        """The conversation was deleted: stop its turn, wait for it, close its sockets (4404)."""
        self._stop(conversation_id, "deleted")
        await self.wait(conversation_id)
        # Its sockets close as a new connection to it would.
        self.fanout.close(conversation_id, f.CloseCode.NOT_FOUND)

    # --- the heartbeat --------------------------------------------------------------------------

    def open(self) -> None:
        """Start the heartbeat (once the schema is ready)."""
        if self._heartbeat is None and not self._closed:
            self._heartbeat = asyncio.create_task(self._beat(), name="turn heartbeat")

    async def beat(self) -> None:
        """One heartbeat: renew this instance's leases (stopping a turn that lost its own), and
        take over and end the turns of dead instances."""
        # Only turns claimed before the renewal began: one claimed meanwhile is not in `held`.
        claimed = list(self._running.items())
        held = await self.leases.renew([running.runner.fence.id for _, running in claimed])
        for _, running in claimed:
            if running.runner.fence.id not in held and not running.task.done():
                _log.warning(
                    "instance %s lost the lease of turn %s: stopped",
                    self.instance_id,
                    running.runner.channel.turn_id,
                )
                running.runner.stop("lost")
        ended = await take_over_dead_turns(
            self._db, instance_id=self.instance_id, lease_s=self.leases.lease_s
        )
        for turn in ended:
            self.fanout.interrupted(turn.conversation_id, turn.id)

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        forget_at = loop.time()
        while True:
            try:
                await self.beat()
                if loop.time() >= forget_at:
                    forget_at = loop.time() + _FORGET_EVERY_S
                    async with self._db.connection() as conn:
                        await q.delete_ended_turns(conn, limit=1000)
            except (Unavailable, *STALE) as e:
                _log.warning("turn heartbeat: database away: %r", e)
            except Exception:  # the loop must outlive any one fault
                _log.exception("turn heartbeat failed")
            await asyncio.sleep(self.leases.heartbeat_s)

    # --- shutdown -------------------------------------------------------------------------------

    def refuse_new(self) -> None:
        """Take no new turn from now on (a deploy stops this instance): they get Unavailable."""
        self._closed = True

    def busy(self) -> bool:
        """Whether a turn still runs here."""
        return bool(self._running)

    async def drain(self, grace_s: float) -> None:
        """Refuse new turns and let the running ones finish, for `grace_s` at most."""
        self.refuse_new()
        tasks = {running.task for running in self._running.values()}
        if tasks:
            await asyncio.wait(tasks, timeout=grace_s)

    async def aclose(self) -> None:
        """Shutdown: stop every turn, storing its partial text as interrupted, and wait for them.

        A turn still busy after the grace period is cancelled outright, and its row and
        streaming text ended `interrupted` here. The heartbeat stops last.
        """
        self._closed = True
        runs = list(self._running.values())
        for conversation_id in list(self._running):
            self._stop(conversation_id, "shutdown")
        if runs:
            _, late = await asyncio.wait({r.task for r in runs}, timeout=self._grace)
            for running in runs:
                if running.task not in late:
                    continue
                _log.warning(
                    "%s did not stop within %g s: cancelled", running.task.get_name(), self._grace
                )
                running.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running.task
                await self._end_cancelled(running.runner)
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None

    async def _end_cancelled(self, runner: TurnRunner) -> None:
        try:
            await end_interrupted(
                self._db,
                conversation_id=runner.channel.conversation_id,
                user_id=runner.user_id,
                fence=runner.fence,
            )
        except (Unavailable, *STALE) as e:  # the lease runs out; another instance ends it
            _log.warning("turn %s left to the other instances: %r", runner.fence.id, e)

    def _stop(self, conversation_id: UUID, reason: StopReason) -> bool:
        running = self._running.get(conversation_id)
        if running is None:
            return False
        running.runner.stop(reason)
        return True

    async def _release(self, fence: TurnFence, status: TurnRowStatus) -> None:
        try:
            await self.leases.finish(fence, status)
        except (Unavailable, *STALE) as e:  # the lease runs out; a sweep ends the row
            _log.warning("turn %s not ended in the database: %r", fence.id, e)

    async def _run(self, conversation_id: UUID, runner: TurnRunner) -> None:
        turn_id = runner.channel.turn_id
        try:
            await self.fanout.begin(conversation_id, turn_id)  # never raises
            await runner.run()
        finally:
            # In the same step as turn_end: a user_message sent in answer to it starts a turn.
            del self._running[conversation_id]
            self.fanout.end(conversation_id, turn_id)
