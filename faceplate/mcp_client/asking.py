"""How an MCP server's question during a tool call reaches the person who can answer it.

The turn that makes a call sets `CURRENT` in the call's task: the call's `Asker` (which turn,
which tool call) and its deadlines. A connection is shared by every call of its user and
config, so the question is given to the call whose context it arrives in (the SDK runs a
server's request in the context of the stream that carried it, and a 2026 server's
`InputRequiredResult` is answered in the caller's own task), else to the only call in flight on
the connection, else declined. While the person is being asked, the call's deadlines stand
still: time spent waiting for a person does not count against the tool's timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal, Protocol
from uuid import UUID

import msgspec

ElicitAction = Literal["accept", "decline", "cancel"]


class ElicitAnswer(msgspec.Struct, frozen=True, kw_only=True):
    action: ElicitAction
    content: dict[str, Any] | None = None


class Asker(Protocol):
    """One tool call's way to its user."""

    async def elicit(
        self, config_id: UUID, message: str, requested_schema: dict[str, Any]
    ) -> ElicitAnswer:
        """Ask the user (form mode); the answer, or `cancel` when none comes in time."""
        ...


class CallContext:
    """One tool call: who can be asked, and the deadlines that pause while they are."""

    def __init__(self, asker: Asker) -> None:
        self.asker = asker
        self._deadlines: dict[asyncio.Timeout, float | None] = {}
        self._paused = 0
        self._paused_at = 0.0
        self.waited_s = 0.0
        """Time spent asking the person so far: not the tool's time."""

    @contextmanager
    def deadline(self, timeout: asyncio.Timeout) -> Iterator[None]:
        """Let `timeout` stand still while the person is asked, until the block ends."""
        self._deadlines[timeout] = None
        if self._paused:
            self._hold(timeout)
        try:
            yield
        finally:
            self._deadlines.pop(timeout, None)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Every registered deadline stands still in this block (nested blocks count once)."""
        self._paused += 1
        if self._paused == 1:
            self._paused_at = asyncio.get_running_loop().time()
            for timeout in self._deadlines:
                self._hold(timeout)
        try:
            yield
        finally:
            self._paused -= 1
            if self._paused == 0:
                now = asyncio.get_running_loop().time()
                self.waited_s += now - self._paused_at
                for timeout, remaining in self._deadlines.items():
                    if remaining is not None:
                        timeout.reschedule(now + remaining)
                self._deadlines = dict.fromkeys(self._deadlines)

    def _hold(self, timeout: asyncio.Timeout) -> None:
        when = timeout.when()
        if when is None or timeout.expired():
            return
        self._deadlines[timeout] = max(when - asyncio.get_running_loop().time(), 0.0)
        timeout.reschedule(None)


CURRENT: ContextVar[CallContext | None] = ContextVar("faceplate_mcp_call", default=None)
"""The tool call this task is making, set by the turn around the call."""


def current() -> CallContext | None:
    return CURRENT.get()
