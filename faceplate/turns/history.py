"""What a turn sends the model, and the title its first message gives the conversation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec

from faceplate.mcp_client.results import error_result
from faceplate.structs import Message

TITLE_CHARS: Final = 80
NO_RESULT: Final = "no result was stored for this call"


def title_of(content: str) -> str | None:
    """The first non-blank line, stripped and cut at 80 characters; None if there is none."""
    for line in content.splitlines():
        if line.strip():
            return line.strip()[:TITLE_CHARS]
    return None


def for_model(history: Sequence[Message]) -> list[Message]:
    """The stored messages, oldest first, with every tool call paired with its result.

    A process that died between an assistant step and its tool results left calls without
    results, which model APIs refuse: in what is sent (never in what is stored) each such call
    is answered with an error result.
    """
    out: list[Message] = []
    for index, message in enumerate(history):
        step = out[-1] if out else None
        if message.role == "tool" and step is not None and step.tool_calls:
            message = _answered(step, message)
        out.append(message)
        following = history[index + 1] if index + 1 < len(history) else None
        if message.tool_calls and (following is None or following.role != "tool"):
            empty = msgspec.structs.replace(
                message, role="tool", content="", tool_calls=None, finish_reason=None
            )
            out.append(_answered(message, empty))
    return out


def _answered(step: Message, results: Message) -> Message:
    """`results` with one result per call of `step`, in call order."""
    by_id = {r.tool_call_id: r for r in results.tool_results or ()}
    calls = step.tool_calls or []
    if len(by_id) == len(calls) and all(c.id in by_id for c in calls):
        return results
    paired = [
        by_id.get(c.id) or error_result(NO_RESULT, tool_call_id=c.id, name=c.name, duration_ms=0)
        for c in calls
    ]
    return msgspec.structs.replace(results, tool_results=paired)
