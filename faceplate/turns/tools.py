"""The tool calls of one model step: run together, answered in call order, never raising."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Final
from uuid import UUID

from faceplate.agents.base import ToolSpec
from faceplate.mcp_client import asking
from faceplate.mcp_client.catalog import ToolSource
from faceplate.mcp_client.policy import ApprovalNeeded
from faceplate.mcp_client.results import error_result
from faceplate.structs import ToolCall, ToolResult, User
from faceplate.turns.frames import DecidedBy
from faceplate.turns.observer import ToolOutcome
from faceplate.turns.prompts import CallAsker, Prompts

_log = logging.getLogger(__name__)

ToolSourceFactory = Callable[[User], Awaitable[ToolSource]]
"""Builds the tools of one turn for its user (in the app: the user's enabled MCP configs)."""

CANCELLED: Final = "cancelled"
DENIED: Final = "denied by the user"
ROUNDS_USED_UP: Final = "no tools are offered now (tool rounds used up): answer without them"


class NoTools:
    """A ToolSource with nothing in it."""

    async def specs(self) -> list[ToolSpec]:
        return []

    async def call(self, call: ToolCall) -> ToolResult:
        return error_result(
            self.refusal(call.name), tool_call_id=call.id, name=call.name, duration_ms=0
        )

    def authorization_required(self) -> list[tuple[UUID, str]]:
        return []

    def refusal(self, name: str) -> str:
        return f"unknown tool {name}"

    def approval(self, name: str) -> ApprovalNeeded | None:
        return None


class ToolStep:
    """Runs the calls of one step concurrently, each within `timeout_s`.

    A name that was not offered gets an error result without reaching the source; with
    `offered=None` no tools were offered at all. `on_result` sees each result in call order as
    soon as it and every call before it are done. `stop()` ends the calls still running with an
    error result reading `cancelled`, so every call has its result.

    With `prompts`, a call the source says needs approval first waits for the user's answer
    (the others start at once), and a server may ask the user questions during a call; the
    time spent waiting for the person counts neither against `timeout_s` nor in `duration_ms`.
    """

    def __init__(
        self,
        source: ToolSource,
        calls: Sequence[ToolCall],
        *,
        offered: Collection[str] | None,
        timeout_s: float,
        on_result: Callable[[ToolResult], None],
        prompts: Prompts | None = None,
    ) -> None:
        self._source = source
        self._prompts = prompts
        self.calls = list(calls)
        self._offered = offered
        self._timeout_s = timeout_s
        self._on_result = on_result
        self._started = time.monotonic()
        self._tasks: list[asyncio.Task[ToolResult]] = []
        self._results: list[ToolResult] = []
        self._outcomes: dict[str, ToolOutcome] = {}  # by call id, where not told by is_error

    async def run(self) -> list[ToolResult]:
        """Every result, in call order."""
        self._tasks = [
            asyncio.create_task(self._one(call), name=f"tool {call.name}") for call in self.calls
        ]
        for task in self._tasks[len(self._results) :]:
            self._answer(await task)
        return list(self._results)

    def stop(self) -> list[ToolResult]:
        """Cancel what still runs; every result, in call order (`cancelled` for those stopped)."""
        for index in range(len(self._results), len(self.calls)):
            task = self._tasks[index] if index < len(self._tasks) else None
            if task is not None and task.done() and not task.cancelled():
                self._answer(task.result())
                continue
            if task is not None:
                task.cancel()
            call = self.calls[index]
            self._outcomes[call.id] = "cancelled"
            self._answer(
                error_result(
                    CANCELLED, tool_call_id=call.id, name=call.name, duration_ms=self._elapsed_ms()
                )
            )
        return list(self._results)

    def outcome(self, result: ToolResult) -> ToolOutcome:
        """How the call of `result` went (for the observer)."""
        return self._outcomes.get(result.tool_call_id) or ("error" if result.is_error else "ok")

    def _answer(self, result: ToolResult) -> None:
        self._results.append(result)
        self._on_result(result)

    async def _one(self, call: ToolCall) -> ToolResult:
        started = time.monotonic()
        if self._offered is None or call.name not in self._offered:
            message = ROUNDS_USED_UP if self._offered is None else self._source.refusal(call.name)
            self._outcomes[call.id] = "refused"
            return error_result(message, tool_call_id=call.id, name=call.name, duration_ms=0)
        context: asking.CallContext | None = None
        try:
            if self._prompts is not None:
                needed = self._source.approval(call.name)
                if needed is not None:
                    approval = await self._prompts.approve(call, needed)
                    if approval.decision == "deny":
                        self._outcomes[call.id] = (
                            "cancelled" if approval.by == "cancel" else "refused"
                        )
                        denied = self._denied(approval.by)
                        return error_result(
                            denied, tool_call_id=call.id, name=call.name, duration_ms=0
                        )
                    started = time.monotonic()  # the call's time starts once it may run
                context = asking.CallContext(CallAsker(self._prompts, call))
                asking.CURRENT.set(context)  # this task's own copy: the call's questions find it
            async with asyncio.timeout(self._timeout_s) as deadline:
                with contextlib.nullcontext() if context is None else context.deadline(deadline):
                    return await self._source.call(call)
        except TimeoutError:
            message = f"the tool did not answer within {self._timeout_s:g} s"
            self._outcomes[call.id] = "timeout"
        except Exception as e:  # a ToolSource should answer errors as data; keep the turn alive
            _log.exception("tool source raised for %s", call.name)
            message = f"the tool failed: {type(e).__name__}"
            self._outcomes[call.id] = "failed"
        waited = 0.0 if context is None else context.waited_s
        return error_result(
            message, tool_call_id=call.id, name=call.name, duration_ms=_ms_since(started + waited)
        )

    def _denied(self, by: DecidedBy) -> str:
        """The error result of a call the user did not allow."""
        match by:
            case "user":
                return DENIED
            case "policy":
                return "denied by the user's policy for this tool"
            case "timeout":
                return f"denied: no answer from the user within {self._prompts_timeout():g} s"
        return CANCELLED

    def _prompts_timeout(self) -> float:
        return 0.0 if self._prompts is None else self._prompts.timeout_s

    def _elapsed_ms(self) -> int:
        return _ms_since(self._started)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
