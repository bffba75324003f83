"""One agent turn: the user's message, then model steps and tool rounds, stored as they stream."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any, Final, Literal, TypeVar
from uuid import UUID

import msgspec
from uuid6 import uuid7

from faceplate.agents.base import (
    ChatModel,
    Finish,
    LLMError,
    ModelFinish,
    TextDelta,
    ToolSpec,
    Usage,
)
from faceplate.db import STALE, Conn, Database
from faceplate.errors import Unavailable
from faceplate.mcp_client.catalog import ToolSource
from faceplate.mcp_client.results import error_result
from faceplate.queries import conversations as cq
from faceplate.queries import messages as q
from faceplate.queries.conversations import get_conversation
from faceplate.settings import Settings
from faceplate.structs import (
    FinishReason,
    Message,
    Role,
    ToolCall,
    ToolResult,
    TurnFence,
    TurnRowStatus,
    User,
)
from faceplate.turns.branch import BranchPoint
from faceplate.turns.channel import TurnChannel
from faceplate.turns.decisions import Decisions
from faceplate.turns.frames import TurnError, TurnStatus
from faceplate.turns.history import title_of, within_context
from faceplate.turns.observer import UNWATCHED, TurnWatch
from faceplate.turns.prompts import Prompts
from faceplate.turns.tools import CANCELLED, ToolSourceFactory, ToolStep
from faceplate.turns.writer import StreamWriter

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

StopReason = Literal["cancelled", "deleted", "shutdown", "lost"]
Release = Callable[[TurnRowStatus], Awaitable[None]]
"""Ends the turn's row with its status (before turn_end goes out); never raises."""
_SHUTDOWN: Final = TurnError(code="interrupted", message="the server stopped during the turn")
_LOST: Final = TurnError(
    code="interrupted", message="the turn's instance lost its lease; another instance ended it"
)
_DELETED: Final = TurnError(code="not_found", message="conversation not found")
_MODEL_FAILED: Final = "the model failed before this call ran"


class TurnConfig(msgspec.Struct, frozen=True, kw_only=True):
    system_prompt: str
    max_tool_rounds: int
    tool_timeout_s: float
    write_interval_s: float = 1.0
    frame_interval_s: float = 0.0
    context_tokens: int = 128_000
    max_output_tokens: int = 4096
    approval_timeout_s: float = 600.0
    models: tuple[str, ...] = ()  # the models a conversation may name, the default first

    @classmethod
    def from_settings(cls, settings: Settings) -> TurnConfig:
        return cls(
            system_prompt=settings.system_prompt,
            max_tool_rounds=settings.max_tool_rounds,
            tool_timeout_s=settings.tool_timeout_s,
            context_tokens=settings.llm_context_tokens,
            max_output_tokens=settings.llm_max_output_tokens,
            approval_timeout_s=settings.approval_timeout_s,
            models=settings.models,
        )

    def model_for(self, chosen: str | None) -> str | None:
        """The model a conversation's turn uses: its own while offered, else the default."""
        if chosen is not None and chosen in self.models:
            return chosen
        return self.models[0] if self.models else None


class _Stopped(Exception):
    def __init__(self, reason: StopReason) -> None:
        super().__init__(reason)
        self.reason = reason


class _ConversationDeleted(Exception):
    """A write of the turn stored nothing: the conversation was deleted under the turn, or
    (when it still exists) another instance took the turn over."""


class TurnRunner:
    """Runs one turn to its `turn_end`. `stop()` ends it early; storage always completes.

    Only the model's stream, the tool calls and the listing of tools are interrupted by `stop()`;
    a database write in progress finishes first, so nothing is left half-stored. No pooled
    connection is held across a model or tool await.
    """

    def __init__(
        self,
        *,
        db: Database,
        model: ChatModel,
        tools: ToolSourceFactory,
        config: TurnConfig,
        user: User,
        conversation_id: UUID,
        content: str,
        channel: TurnChannel,
        fence: TurnFence,
        release: Release,
        watch: TurnWatch = UNWATCHED,
        decisions: Decisions | None = None,
        branch: BranchPoint | None = None,
    ) -> None:
        self._db = db
        self._branch = branch
        self._model_name: str = model.name
        # A regenerated answer hangs under the user message it answers again; every later
        # message of the turn under the one before it (the active leaf).
        self._first_parent: UUID | msgspec.UnsetType | None = (
            branch.parent_id if branch is not None and branch.regenerate else msgspec.UNSET
        )
        self._model = model
        self._tools = tools
        self._config = config
        self._user = user
        self._conversation_id = conversation_id
        self._content = content
        self.channel = channel
        self.fence = fence
        self._release = release
        self._watch = watch
        self._stop: StopReason | None = None
        self._current: asyncio.Future[Any] | None = None
        self._writer: StreamWriter | None = None
        # What the turn asks its user (approvals, servers' questions); none without Decisions.
        self._prompts = (
            None
            if decisions is None
            else Prompts(
                db,
                decisions,
                channel,
                user_id=user.id,
                conversation_id=conversation_id,
                timeout_s=config.approval_timeout_s,
            )
        )

    @property
    def user_id(self) -> UUID:
        return self._user.id

    def stop(self, reason: StopReason) -> None:
        """End the turn as soon as possible, storing what it produced so far."""
        if self._stop is None:
            self._stop = reason
        if self._current is not None:
            self._current.cancel()

    async def run(self) -> None:
        """The whole turn; always ends with turn_end, its row ended first (so that a message
        sent in answer to turn_end starts the next turn), and raises only when cancelled."""
        try:
            status, error, row = await self._ended()
        except asyncio.CancelledError:
            if self._writer is not None:
                await self._writer.abandon()
            self._started()
            self._end("failed", _SHUTDOWN)
            raise
        if row is not None:
            await self._release(row)
        self._end(status, error)

    async def _ended(self) -> tuple[TurnStatus, TurnError | None, TurnRowStatus | None]:
        """How the turn ended: its turn_end status and error, and its row's status (None when
        the row is no longer this turn's to end)."""
        try:
            await self._turn()
            return "completed", None, "completed"
        except _Stopped as e:
            self._started()
            if e.reason == "shutdown":
                return "failed", _SHUTDOWN, "interrupted"
            if e.reason == "lost":
                return "failed", _LOST, None
            return "cancelled", None, "cancelled"
        except _ConversationDeleted:
            began = self._started()
            if self._stop == "lost" or await self._still_there():
                return "failed", _LOST, None
            # Deleted before the turn could begin: it failed; deleted during it: cancelled.
            return ("failed", _DELETED, None) if began else ("cancelled", None, None)
        except LLMError as e:
            _log.warning("turn in conversation %s: %s", self._conversation_id, e)
            self._watch.model_error(e.code)
            self._started()
            return "failed", TurnError(code=e.code, message=str(e)), "failed"
        except (Unavailable, *STALE) as e:
            _log.warning("turn in conversation %s: database away: %r", self._conversation_id, e)
            self._started()
            error = TurnError(code="unavailable", message="database unavailable")
            return "failed", error, "failed"
        except Exception:  # the task's boundary: report the fault to the sockets, not to nobody
            _log.exception("turn in conversation %s failed", self._conversation_id)
            self._started()
            return "failed", TurnError(code="internal_error", message="internal error"), "failed"

    async def _still_there(self) -> bool:
        """Whether the conversation exists (a write failed: deleted, or the turn taken over)."""
        try:
            async with self._db.connection() as conn:
                found = await get_conversation(
                    conn, user_id=self._user.id, conversation_id=self._conversation_id
                )
        except (Unavailable, *STALE):
            return False
        return found is not None

    def _end(self, status: TurnStatus, error: TurnError | None = None) -> None:
        self.channel.end(status, error)
        self._watch.ended(status, None if error is None else error.code)

    def _started(self) -> bool:
        """Send turn_start if the turn ended before it; True if it had to."""
        if self.channel.seq == 0:
            self.channel.start()
            return True
        return False

    async def _turn(self) -> None:
        # The user's tool configs are read on a connection of their own while the history is
        # read and the message stored: neither waits for the other.
        tools = asyncio.ensure_future(self._tools(self._user))
        try:
            history = await self._opening()
            self.channel.start()
            source = await self._interruptible(lambda: tools)
        except BaseException:
            _abandon(tools)
            raise
        rounds = 0
        while True:
            offer = rounds < self._config.max_tool_rounds
            specs = await self._interruptible(source.specs) if offer else []
            for config_id, name in source.authorization_required():
                self.channel.authorization_required(config_id, name)
            step, calls = await self._step(history, specs)
            history.append(step)
            if not calls:
                return
            offered = {spec.name for spec in specs} if offer else None
            history.append(await self._run_tools(source, calls, offered))
            if not offer:
                return  # asked once more with no tools, it still wanted some: the turn ends
            rounds += 1

    async def _opening(self) -> list[Message]:
        """The model's history (the branch the turn continues, read as the turn starts) with
        the user's message stored at its end and sent, on one pooled connection."""
        branch = self._branch
        async with self._db.connection() as conn:
            conv = await cq.get_conversation(
                conn, user_id=self._user.id, conversation_id=self._conversation_id
            )
            if conv is None:
                raise _ConversationDeleted
            leaf = conv.active_message_id if branch is None else branch.parent_id
            history = (
                []
                if leaf is None
                else await q.list_history(
                    conn, user_id=self._user.id, conversation_id=self._conversation_id, leaf_id=leaf
                )
            )
            self._model_name = self._config.model_for(conv.model) or self._model.name
            if branch is not None and branch.regenerate:
                return history
            first = not any(m.role == "user" for m in history)
            asked = await self._insert(
                conn,
                "user",
                self._content,
                title_if_untitled=title_of(self._content) if first else None,
                parent=leaf,
            )
        self.channel.user_message(asked)
        history.append(asked)
        return history

    # --- one model step ------------------------------------------------------------------------

    async def _step(
        self, history: Sequence[Message], specs: Sequence[ToolSpec]
    ) -> tuple[Message, list[ToolCall]]:
        writer = StreamWriter(
            self._db,
            user_id=self._user.id,
            conversation_id=self._conversation_id,
            message_id=uuid7(),
            interval_s=self._config.write_interval_s,
            fence=self.fence,
            model=self._model_name,
            parent=self._first_parent,
        )
        self._first_parent = msgspec.UNSET
        self._writer = writer
        calls: list[ToolCall] = []
        try:
            reason, usage = await self._interruptible(
                lambda: self._stream(writer, calls, history, specs)
            )
        except _Stopped as e:
            stopped: FinishReason = "cancelled" if e.reason == "cancelled" else "interrupted"
            await self._store_partial(writer, calls, stopped, CANCELLED)
            raise
        except Exception:
            await self._store_partial(writer, calls, "error", _MODEL_FAILED)
            raise
        self._watch.step_finished(reason)
        stored = await writer.finish(reason, calls, usage)
        self._writer = None
        if stored is None:
            raise _ConversationDeleted
        self.channel.message(stored)
        return stored, calls

    async def _stream(
        self,
        writer: StreamWriter,
        calls: list[ToolCall],
        history: Sequence[Message],
        specs: Sequence[ToolSpec],
    ) -> tuple[ModelFinish, Usage | None]:
        reason: ModelFinish | None = None
        usage: Usage | None = None
        config = self._config
        sent = within_context(
            history,
            system=config.system_prompt,
            tools=specs,
            context_tokens=config.context_tokens,
            max_output_tokens=config.max_output_tokens,
        )
        events = self._model.stream(
            system=config.system_prompt, history=sent, tools=specs, model=self._model_name
        )
        try:
            async for event in events:
                if isinstance(event, TextDelta):
                    self._watch.text()
                    writer.append(event.text)
                    self.channel.text(writer.message_id, event.text)
                elif isinstance(event, Finish):
                    reason, usage = event.reason, event.usage
                    break
                else:
                    calls.append(event.tool_call)
                    self.channel.tool_call(writer.message_id, event.tool_call)
        finally:
            aclose: Callable[[], Awaitable[None]] | None = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()
        if reason is None:
            raise LLMError("the model's stream ended before it finished")
        return reason, usage

    async def _store_partial(
        self, writer: StreamWriter, calls: list[ToolCall], reason: FinishReason, why: str
    ) -> None:
        """What a stopped or failed step produced: its text, and its calls answered with `why`."""
        self._watch.step_finished(reason)
        try:
            stored = await writer.finish(reason, calls)
            self._writer = None
            if stored is None:
                return
            self.channel.message(stored)
            if calls:
                results = [
                    error_result(why, tool_call_id=c.id, name=c.name, duration_ms=0) for c in calls
                ]
                for result in results:
                    self.channel.tool_result(result)
                await self._store_results(results)
        except (_ConversationDeleted, Unavailable, *STALE) as e:
            # Logged, not raised: the turn ends with the first failure, not this one.
            _log.warning("partial step of conversation %s not stored: %r", self._conversation_id, e)

    # --- one tool round -------------------------------------------------------------------------

    async def _run_tools(
        self, source: ToolSource, calls: Sequence[ToolCall], offered: Collection[str] | None
    ) -> Message:
        step = ToolStep(
            source,
            calls,
            offered=offered,
            timeout_s=self._config.tool_timeout_s,
            on_result=lambda result: self._tool_result(step, result),
            prompts=self._prompts,
        )
        try:
            results = await self._interruptible(step.run)
        except _Stopped:
            if self._prompts is not None:
                await self._prompts.close()  # its outcome frames before the calls' results
            await self._store_results(step.stop())
            raise
        except BaseException:
            step.stop()  # no call outlives its turn
            raise
        return await self._store_results(results)

    def _tool_result(self, step: ToolStep, result: ToolResult) -> None:
        self.channel.tool_result(result)
        self._watch.tool_result(step.outcome(result), result.duration_ms / 1000)

    async def _store_results(self, results: list[ToolResult]) -> Message:
        async with self._db.connection() as conn:
            stored = await self._insert(conn, "tool", "", tool_results=results)
        self.channel.message(stored)
        return stored

    # --- helpers --------------------------------------------------------------------------------

    async def _insert(
        self,
        conn: Conn,
        role: Role,
        content: str,
        *,
        tool_results: list[ToolResult] | None = None,
        title_if_untitled: str | None = None,
        parent: UUID | msgspec.UnsetType | None = msgspec.UNSET,
    ) -> Message:
        """Store a message of the turn under `parent` (UNSET: under the active leaf, the turn's
        last), on a connection the caller holds."""
        stored = await q.create_message(
            conn,
            user_id=self._user.id,
            conversation_id=self._conversation_id,
            id=uuid7(),
            role=role,
            content=content,
            tool_results=tool_results,
            title_if_untitled=title_if_untitled,
            turn_id=self.fence.id,
            epoch=self.fence.epoch,
            new_branch=not isinstance(parent, msgspec.UnsetType),
            parent_id=None if isinstance(parent, msgspec.UnsetType) else parent,
        )
        if stored is None:
            raise _ConversationDeleted
        return stored

    async def _interruptible(self, start: Callable[[], Awaitable[_T]]) -> _T:
        """Await what `start` begins, unless stop() comes first or meanwhile (_Stopped)."""
        if self._stop is not None:
            raise _Stopped(self._stop)
        task: asyncio.Future[_T] = asyncio.ensure_future(start())
        self._current = task
        try:
            return await task
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if self._stop is not None and (me is None or me.cancelling() == 0):
                raise _Stopped(self._stop) from None
            raise
        finally:
            self._current = None


def _abandon(task: asyncio.Future[Any]) -> None:
    """Cancel a task nobody will await; whatever it ends with is retrieved, not reported."""
    task.cancel()
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
