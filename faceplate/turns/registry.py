"""The running turns of this process, by conversation, and how sockets reach them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from uuid import UUID

from uuid6 import uuid7

from faceplate.agents.base import ChatModel
from faceplate.db import Database
from faceplate.errors import Conflict, Unavailable
from faceplate.structs import User
from faceplate.turns import frames as f
from faceplate.turns.channel import TurnChannel
from faceplate.turns.fanout import Fanout, LocalFanout, Outbox
from faceplate.turns.observer import UNWATCHED, TurnObserver
from faceplate.turns.runner import StopReason, TurnConfig, TurnRunner
from faceplate.turns.tools import ToolSourceFactory

_log = logging.getLogger(__name__)


class TurnInProgress(Conflict):
    """A turn is already running in this conversation."""


@dataclass(eq=False)
class _Running:
    runner: TurnRunner
    task: asyncio.Task[None]


class TurnRegistry:
    """At most one running turn per conversation; turns outlive the sockets that start them.

    Frames go out through `fanout`, so a socket only subscribes to its conversation: `join`
    queues its `ready` (and the text so far of a running turn) and subscribes it in one step,
    with no await in between, so it misses and repeats no frame.
    """

    def __init__(
        self,
        *,
        db: Database,
        model: ChatModel,
        tools: ToolSourceFactory,
        config: TurnConfig,
        fanout: Fanout | None = None,
        shutdown_grace_s: float = 10.0,
        observer: TurnObserver | None = None,
    ) -> None:
        self._db = db
        self._model = model
        self._tools = tools
        self.config = config
        self.fanout: Fanout = fanout if fanout is not None else LocalFanout()
        self._grace = shutdown_grace_s
        self._observer = observer
        self._running: dict[UUID, _Running] = {}
        self._closed = False

    def start(self, user: User, conversation_id: UUID, content: str) -> UUID:
        """Start a turn as its own task and return its id; TurnInProgress if one runs.

        The caller has checked that the conversation is the user's.
        """
        if self._closed:
            raise Unavailable("the server is shutting down")
        if conversation_id in self._running:
            raise TurnInProgress()
        turn_id = uuid7()
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
            watch=UNWATCHED if self._observer is None else self._observer.turn_started(),
        )
        task = asyncio.create_task(self._run(conversation_id, runner), name=f"turn {turn_id}")
        self._running[conversation_id] = _Running(runner, task)
        return turn_id

    def running(self, conversation_id: UUID) -> UUID | None:
        """The id of the conversation's running turn, if any."""
        running = self._running.get(conversation_id)
        return None if running is None else running.runner.channel.turn_id

    def join(self, conversation_id: UUID, outbox: Outbox) -> None:
        """Queue `ready` for a socket, then the running turn's text so far, and subscribe it."""
        running = self._running.get(conversation_id)
        turn: f.ReadyTurn | None = None
        catch_up: f.TextDeltaFrame | None = None
        if running is not None:
            turn, catch_up = running.runner.channel.snapshot()
        outbox.offer(f.encode(f.ReadyFrame(conversation_id=conversation_id, turn=turn)))
        if catch_up is not None:
            outbox.offer(f.encode(catch_up))
        self.fanout.subscribe(conversation_id, outbox)

    def leave(self, conversation_id: UUID, outbox: Outbox) -> None:
        """Unsubscribe a socket; its conversation's turn goes on."""
        self.fanout.unsubscribe(conversation_id, outbox)

    def cancel(self, conversation_id: UUID) -> bool:
        """Stop the running turn (its partial text is stored as cancelled); False if none runs."""
        return self._stop(conversation_id, "cancelled")

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

    async def aclose(self) -> None:
        """Shutdown: stop every turn, storing its partial text as interrupted, and wait for them.

        A turn still busy after the grace period is cancelled outright; the start-up recovery
        marks what it left streaming as interrupted.
        """
        self._closed = True
        tasks = {running.task for running in self._running.values()}
        for conversation_id in list(self._running):
            self._stop(conversation_id, "shutdown")
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=self._grace)
        for task in late:
            _log.warning("%s did not stop within %g s: cancelled", task.get_name(), self._grace)
            task.cancel()
        for task in late:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _stop(self, conversation_id: UUID, reason: StopReason) -> bool:
        running = self._running.get(conversation_id)
        if running is None:
            return False
        running.runner.stop(reason)
        return True

    async def _run(self, conversation_id: UUID, runner: TurnRunner) -> None:
        try:
            await runner.run()
        finally:
            # In the same step as turn_end: a user_message sent in answer to it starts a turn.
            del self._running[conversation_id]
