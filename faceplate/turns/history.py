"""What a turn sends the model (within its context), and the title its first message gives the
conversation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec

from faceplate.agents.base import ToolSpec
from faceplate.agents.wire import result_text
from faceplate.mcp_client.results import error_result
from faceplate.structs import Message, TextBlock

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


# --- the model's context --------------------------------------------------------------------

MESSAGE_OVERHEAD_TOKENS: Final = 4
"""What a message costs beyond its text (role, separators), as the vendors count it roughly."""
_MIN_RESULT_BYTES: Final = 1024
_ENCODER: Final = msgspec.json.Encoder()


def estimate_tokens(text: str) -> int:
    """A cautious guess at the tokens of `text`: one per 3 bytes of UTF-8 (English runs near
    4 characters a token; other scripts take fewer bytes per token, not more than 3)."""
    return -(-len(text.encode()) // 3)


def message_tokens(message: Message) -> int:
    """The estimated tokens of one message as a model is sent it."""
    tokens = MESSAGE_OVERHEAD_TOKENS + estimate_tokens(message.content)
    for call in message.tool_calls or ():
        tokens += MESSAGE_OVERHEAD_TOKENS + estimate_tokens(call.name)
        tokens += -(-len(_ENCODER.encode(call.arguments)) // 3)
    for result in message.tool_results or ():
        tokens += MESSAGE_OVERHEAD_TOKENS + estimate_tokens(result_text(result))
    return tokens


def tools_tokens(tools: Sequence[ToolSpec]) -> int:
    """The estimated tokens of the tools offered with a request."""
    return sum(
        MESSAGE_OVERHEAD_TOKENS
        + estimate_tokens(tool.name)
        + estimate_tokens(tool.description)
        + -(-len(_ENCODER.encode(tool.input_schema)) // 3)
        for tool in tools
    )


def within_context(
    history: Sequence[Message],
    *,
    system: str,
    tools: Sequence[ToolSpec],
    context_tokens: int,
    max_output_tokens: int,
) -> list[Message]:
    """`for_model(history)` trimmed from the oldest so that, with the system prompt and the
    tools, its estimate leaves `max_output_tokens` of `context_tokens` for the answer.

    What goes, in order: whole exchanges (a user message and what followed it) before the
    newest user message, oldest first; then the steps after it, oldest first, but not the
    latest; then, if the latest step's tool results are still too long, their text is cut,
    with a note saying how much. A tool call never loses its result, the newest user message
    always stays, and what is sent starts with a user message. When even that does not fit,
    it is sent as it is, and the model's refusal ends the turn.
    """
    messages = for_model(history)
    budget = context_tokens - max_output_tokens - estimate_tokens(system) - tools_tokens(tools)
    units = _units(messages)
    costs = [sum(message_tokens(m) for m in unit) for unit in units]
    total = sum(costs)
    if total <= budget:
        return messages
    newest = max((i for i, u in enumerate(units) if u[0].role == "user"), default=0)
    kept = [True] * len(units)
    for i in range(newest):  # whole exchanges first: what is sent starts with a user message
        if total <= budget and units[i][0].role == "user":
            break
        kept[i] = False
        total -= costs[i]
    for i in range(newest + 1, len(units) - 1):
        if total <= budget:
            break
        kept[i] = False
        total -= costs[i]
    out = [m for unit, keep in zip(units, kept, strict=True) if keep for m in unit]
    if total > budget:
        out = _cut_results(out, over_tokens=total - budget, after=len(out) - len(units[-1]))
    return out


def _units(messages: Sequence[Message]) -> list[list[Message]]:
    """Messages in what may only go together: a step that asked for tools with its results."""
    units: list[list[Message]] = []
    for message in messages:
        if message.role == "tool" and units and units[-1][-1].tool_calls:
            units[-1].append(message)
        else:
            units.append([message])
    return units


def _cut_results(messages: list[Message], *, over_tokens: int, after: int) -> list[Message]:
    """The tool results from index `after` on, their text cut by about `over_tokens`."""
    excess = over_tokens * 3  # bytes, by the estimate's own measure
    out = list(messages)
    for index in range(max(0, after), len(out)):
        message = out[index]
        if excess <= 0 or message.role != "tool" or not message.tool_results:
            continue
        results = []
        for result in message.tool_results:
            text = result_text(result)
            size = len(text.encode())
            keep = max(_MIN_RESULT_BYTES, size - excess)
            if excess <= 0 or keep >= size:
                results.append(result)
                continue
            cut = text.encode()[:keep].decode(errors="ignore")
            note = f"\n[cut to fit the model's context: {size - keep} bytes left out]"
            excess -= size - keep
            results.append(msgspec.structs.replace(result, content=[TextBlock(text=cut + note)]))
        out[index] = msgspec.structs.replace(message, tool_results=results)
    return out
