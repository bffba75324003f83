"""The offline dev model: echoes the user, and calls a tool on `/call NAME {json}`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence

from faceplate.agents.base import Finish, ModelEvent, TextDelta, ToolCallRequest, ToolSpec
from faceplate.agents.wire import decode_arguments, new_call_id, result_text
from faceplate.structs import Message, ToolCall, ToolResult

LABEL = "[echo dev model] "
# `/call NAME` then, optionally, the arguments as a JSON object (anything else after the name
# becomes an invalid-arguments call, as a real model's broken JSON would).
_CALL = re.compile(r"/call\s+(?P<name>\S+)(?:\s+(?P<arguments>.*))?", re.DOTALL)
_WORD = re.compile(r"\S+\s*")


class EchoModel:
    """Answers without any network: a stand-in for a real model in development and tests."""

    name = "echo"

    async def aclose(self) -> None:
        pass

    async def stream(
        self,
        *,
        system: str,
        history: Sequence[Message],
        tools: Sequence[ToolSpec],
        model: str | None = None,
    ) -> AsyncIterator[ModelEvent]:
        # `tools` and `model` are not consulted: a name that is not offered is still requested,
        # and the turn runner answers it with an error result, as it would for a real model.
        last = history[-1] if history else None
        if last is not None and last.role == "tool":
            text = "\n".join(_describe(result) for result in last.tool_results or ())
        else:
            text = next((m.content for m in reversed(history) if m.role == "user"), "")
            call = _CALL.fullmatch(text.strip())
            if call is not None:
                arguments = decode_arguments(call.group("arguments") or "")
                tool_call = ToolCall(id=new_call_id(), name=call.group("name"), arguments=arguments)
                yield ToolCallRequest(tool_call=tool_call)
                yield Finish(reason="tool_calls")
                return
        yield TextDelta(text=LABEL)
        for word in _WORD.findall(text.strip() or "(nothing to echo)"):
            await asyncio.sleep(0)  # let the caller see each word as it comes
            yield TextDelta(text=word)
        yield Finish(reason="stop")


def _describe(result: ToolResult) -> str:
    outcome = "failed" if result.is_error else "returned"
    return f"tool {result.name} {outcome}: {result_text(result)}"
