"""Any OpenAI-compatible Chat Completions endpoint, streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import msgspec

from faceplate.agents.base import (
    Finish,
    LLMError,
    ModelEvent,
    ModelFinish,
    TextDelta,
    ToolCallRequest,
    ToolSpec,
    Usage,
)
from faceplate.agents.sse import model_error, post_events
from faceplate.agents.wire import decode_arguments, new_call_id, result_text
from faceplate.structs import Message, ToolCall

_ENCODER = msgspec.json.Encoder()
_FINISH: dict[str, ModelFinish] = {
    "stop": "stop",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "length": "length",
}

# --- request ------------------------------------------------------------------------------------


class _Function(msgspec.Struct, frozen=True):
    name: str
    arguments: str  # JSON text, as the API wants it


class _Call(msgspec.Struct, frozen=True):
    id: str
    function: _Function
    type: Literal["function"] = "function"


class _Message(msgspec.Struct, frozen=True, omit_defaults=True):
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    tool_calls: list[_Call] | None = None
    tool_call_id: str | None = None


class _ToolFunction(msgspec.Struct, frozen=True):
    name: str
    description: str
    parameters: dict[str, Any]


class _Tool(msgspec.Struct, frozen=True):
    function: _ToolFunction
    type: Literal["function"] = "function"


class _StreamOptions(msgspec.Struct, frozen=True):
    include_usage: bool


class _Request(msgspec.Struct, frozen=True, omit_defaults=True):
    model: str
    messages: list[_Message]
    stream: bool
    stream_options: _StreamOptions
    max_tokens: int | None = None
    tools: list[_Tool] | None = None


# --- streamed chunks ----------------------------------------------------------------------------


class _FunctionDelta(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class _CallDelta(msgspec.Struct):
    index: int | None = None
    id: str | None = None
    function: _FunctionDelta | None = None


class _Delta(msgspec.Struct):
    content: str | None = None
    tool_calls: list[_CallDelta] | None = None


class _Choice(msgspec.Struct):
    index: int = 0
    delta: _Delta | None = None
    finish_reason: str | None = None


class _ChunkUsage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class _ChunkError(msgspec.Struct):
    message: str | None = None


class _Chunk(msgspec.Struct):
    choices: list[_Choice] | None = None
    usage: _ChunkUsage | None = None
    error: _ChunkError | str | None = None  # some compatible servers report failures in-stream


_CHUNK = msgspec.json.Decoder(_Chunk)


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class OpenAIModel:
    """Chat Completions at `base_url` (which includes the version path, e.g. `.../v1`).

    `timeout_s` bounds connecting and each wait for the next piece of the stream, not the whole
    answer. One HTTP client per instance; `aclose` closes it.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        model: str,
        *,
        max_tokens: int | None = 4096,
        timeout_s: float = 120.0,
    ) -> None:
        self.name = model
        self._model = model
        self._max_tokens = max_tokens
        self._url = base_url.rstrip("/") + "/chat/completions"
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(timeout_s))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def stream(
        self,
        *,
        system: str,
        history: Sequence[Message],
        tools: Sequence[ToolSpec],
        model: str | None = None,
    ) -> AsyncIterator[ModelEvent]:
        name = model or self._model
        who = f"openai model {name!r}"
        body = _request_body(
            name, system=system, history=history, tools=tools, max_tokens=self._max_tokens
        )
        calls: dict[int, _PartialCall] = {}
        reason: ModelFinish | None = None
        usage: Usage | None = None
        events = post_events(self._client, self._url, body=body, who=who)
        async with aclosing(events):
            async for event in events:
                if event.data.strip() == "[DONE]":
                    break
                chunk = self._decode(event.data, who)
                if chunk.usage is not None:
                    usage = Usage(
                        input_tokens=chunk.usage.prompt_tokens,
                        output_tokens=chunk.usage.completion_tokens,
                    )
                for choice in chunk.choices or ():
                    if choice.index != 0 or reason is not None:
                        continue  # we ask for one choice; anything after its finish is noise
                    delta = choice.delta or _Delta()
                    if delta.content:
                        yield TextDelta(text=delta.content)
                    for fragment in delta.tool_calls or ():
                        _merge(calls, fragment)
                    if choice.finish_reason:  # some servers send "" rather than null
                        reason = _finish(choice.finish_reason, has_calls=bool(calls))
                        if reason == "tool_calls":
                            for index in sorted(calls):
                                yield ToolCallRequest(tool_call=_complete(calls[index]))
        if reason is None:
            raise LLMError(f"{who}: the stream ended before the model finished")
        yield Finish(reason=reason, usage=usage)

    def _decode(self, data: str, who: str) -> _Chunk:
        try:
            chunk = _CHUNK.decode(data)
        except msgspec.DecodeError as exc:
            raise LLMError(f"{who}: malformed stream chunk: {data[:200]!r}") from exc
        if chunk.error is not None:
            message = chunk.error if isinstance(chunk.error, str) else chunk.error.message
            raise model_error(f"{who}: error in stream: {message or 'unknown error'}")
        return chunk


def _finish(raw: str, *, has_calls: bool) -> ModelFinish:
    # Some servers say "stop" after tool calls. A call cut off by "length" has incomplete
    # arguments, so it is dropped rather than run; unknown reasons (content_filter…) mean "stop".
    reason = _FINISH.get(raw, "stop")
    if reason == "length":
        return reason
    return "tool_calls" if has_calls else "stop"


def _merge(calls: dict[int, _PartialCall], fragment: _CallDelta) -> None:
    index = fragment.index
    if index is None:  # servers that omit `index` send each call whole, or repeat its id
        known = {call.id for call in calls.values()}
        if not calls or (fragment.id and fragment.id not in known):
            index = max(calls, default=-1) + 1
        else:
            index = max(calls)
    call = calls.setdefault(index, _PartialCall())
    if fragment.id and not call.id:
        call.id = fragment.id
    if fragment.function is not None:
        if fragment.function.name and not call.name:
            call.name = fragment.function.name
        if fragment.function.arguments:
            call.arguments.append(fragment.function.arguments)


def _complete(call: _PartialCall) -> ToolCall:
    return ToolCall(
        id=call.id or new_call_id(),
        name=call.name,
        arguments=decode_arguments("".join(call.arguments)),
    )


def _request_body(
    model: str,
    *,
    system: str,
    history: Sequence[Message],
    tools: Sequence[ToolSpec],
    max_tokens: int | None = None,
) -> _Request:
    """The Chat Completions request for a stored conversation."""
    messages = [_Message(role="system", content=system)] if system else []
    for message in history:
        messages.extend(_convert(message))
    return _Request(
        model=model,
        messages=messages,
        stream=True,
        stream_options=_StreamOptions(include_usage=True),
        max_tokens=max_tokens,
        tools=[
            _Tool(_ToolFunction(tool.name, tool.description, tool.input_schema)) for tool in tools
        ]
        or None,
    )


def _convert(message: Message) -> list[_Message]:
    match message.role:
        case "system" | "user":
            return [_Message(role=message.role, content=message.content)]
        case "assistant":
            if not message.content and not message.tool_calls:
                return []  # e.g. a step cancelled before it said anything
            calls = [
                _Call(call.id, _Function(call.name, _ENCODER.encode(call.arguments).decode()))
                for call in message.tool_calls or ()
            ]
            return [
                _Message(
                    role="assistant", content=message.content or None, tool_calls=calls or None
                )
            ]
        case "tool":
            # The API has no error flag on a tool message, so the text says it.
            return [
                _Message(
                    role="tool",
                    tool_call_id=result.tool_call_id,
                    content=("error: " if result.is_error else "") + result_text(result),
                )
                for result in message.tool_results or ()
            ]
