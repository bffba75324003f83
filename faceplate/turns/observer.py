"""The turn engine's one observer seam: what a turn tells whoever watches it (the metrics).

The registry asks its observer for a `TurnWatch` when a turn starts and hands it to the runner,
which reports to it; without an observer every turn gets `UNWATCHED`, which does nothing.
Only closed sets of values pass here (statuses, codes, finish reasons, outcomes), never a
message, a tool's name or its arguments.
"""

from __future__ import annotations

from typing import Final, Literal, Protocol

ToolOutcome = Literal["ok", "error", "timeout", "refused", "failed", "cancelled"]
"""How a tool call went: `ok`; `error` (the tool or its server answered an error, or the server
could not be reached); `timeout` (FACEPLATE_TOOL_TIMEOUT_S passed); `refused` (a name that was not
offered); `failed` (the tool source raised); `cancelled` (the turn was stopped meanwhile)."""


class TurnWatch(Protocol):
    def text(self) -> None:
        """The model streamed text (called for each piece; the first one counts)."""

    def step_finished(self, finish: str) -> None:
        """A model step was stored with this finish_reason."""

    def tool_result(self, outcome: ToolOutcome, seconds: float) -> None:
        """A tool call was answered."""

    def model_error(self, code: str) -> None:
        """The model failed; `code` is the error code the turn ends with."""

    def ended(self, status: str, code: str | None) -> None:
        """turn_end was sent, with its status and error code (None unless failed)."""


class TurnObserver(Protocol):
    def turn_started(self) -> TurnWatch:
        """A turn starts now (its user_message was accepted)."""


class _Unwatched:
    __slots__ = ()

    def text(self) -> None:
        pass

    def step_finished(self, finish: str) -> None:
        pass

    def tool_result(self, outcome: ToolOutcome, seconds: float) -> None:
        pass

    def model_error(self, code: str) -> None:
        pass

    def ended(self, status: str, code: str | None) -> None:
        pass


UNWATCHED: Final[TurnWatch] = _Unwatched()
