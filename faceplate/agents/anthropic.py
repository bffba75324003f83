"""The Anthropic Messages API, streamed."""

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

API_VERSION = "2023-06-01"
_FINISH: dict[str, ModelFinish] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
}

# --- request ------------------------------------------------------------------------------------


class _Text(msgspec.Struct, frozen=True, tag_field="type", tag="text"):
    text: str


class _ToolUse(msgspec.Struct, frozen=True, tag_field="type", tag="tool_use"):
    id: str
    name: str
    input: dict[str, Any]


class _ToolResult(msgspec.Struct, frozen=True, tag_field="type", tag="tool_result"):
    tool_use_id: str
    content: str
    is_error: bool


_Block = _Text | _ToolUse | _ToolResult


class _Message(msgspec.Struct, frozen=True):
    role: Literal["user", "assistant"]
    content: list[_Block]


class _Tool(msgspec.Struct, frozen=True):
    name: str
    description: str
    input_schema: dict[str, Any]


class _Request(msgspec.Struct, frozen=True, omit_defaults=True):
    model: str
    max_tokens: int
    messages: list[_Message]
    stream: bool
    system: str | None = None
    tools: list[_Tool] | None = None


# --- streamed events: one loose shape for all of them, so new event types pass through ----------


class _EventUsage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class _EventMessage(msgspec.Struct):
    usage: _EventUsage | None = None


class _EventBlock(msgspec.Struct):
    type: str
    id: str | None = None
    name: str | None = None
    input: dict[str, Any] | None = None


class _EventDelta(msgspec.Struct):
    type: str | None = None
    text: str | None = None
    partial_json: str | None = None
    stop_reason: str | None = None


class _EventError(msgspec.Struct):
    type: str | None = None
    message: str | None = None


class _Event(msgspec.Struct):
    type: str
    index: int | None = None
    message: _EventMessage | None = None
    content_block: _EventBlock | None = None
    delta: _EventDelta | None = None
    usage: _EventUsage | None = None
    error: _EventError | None = None


_EVENT = msgspec.json.Decoder(_Event)


@dataclass
class _ToolBlock:
    id: str
    name: str
    start_input: dict[str, Any]
    json_parts: list[str] = field(default_factory=list)

    def call(self) -> ToolCall:
        raw = "".join(self.json_parts)
        arguments = decode_arguments(raw) if raw.strip() else dict(self.start_input)
        return ToolCall(id=self.id or new_call_id(), name=self.name, arguments=arguments)


class AnthropicModel:
    """Messages at `base_url` (which includes the version path: `https://api.anthropic.com/v1`).

    `timeout_s` bounds connecting and each wait for the next piece of the stream, not the whole
    answer. One HTTP client per instance; `aclose` closes it.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        model: str,
        *,
        max_tokens: int = 4096,
        timeout_s: float = 120.0,
    ) -> None:
        self.name = model
        self._model = model
        self._max_tokens = max_tokens
        self._url = base_url.rstrip("/") + "/messages"
        headers = {"anthropic-version": API_VERSION}
        if api_key:
            headers["x-api-key"] = api_key
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
        who = f"anthropic model {name!r}"
        body = _request_body(name, self._max_tokens, system=system, history=history, tools=tools)
        blocks: dict[int, _ToolBlock] = {}
        calls: list[ToolCall] = []
        stop_reason: str | None = None
        input_tokens: int | None = None
        output_tokens: int | None = None
        events = post_events(self._client, self._url, body=body, who=who)
        async with aclosing(events):
            async for sse in events:
                event = self._decode(sse.data, who)
                match event.type:
                    case "message_start" if event.message and event.message.usage:
                        input_tokens = _input_tokens(event.message.usage)
                        output_tokens = event.message.usage.output_tokens
                    case "content_block_start" if event.content_block is not None:
                        block = event.content_block
                        if block.type == "tool_use" and event.index is not None:
                            blocks[event.index] = _ToolBlock(
                                block.id or "", block.name or "", block.input or {}
                            )
                    case "content_block_delta" if event.delta is not None:
                        if event.delta.type == "text_delta" and event.delta.text:
                            yield TextDelta(text=event.delta.text)
                        elif event.delta.type == "input_json_delta" and event.index in blocks:
                            blocks[event.index].json_parts.append(event.delta.partial_json or "")
                    case "content_block_stop" if event.index in blocks:
                        calls.append(blocks.pop(event.index).call())
                    case "message_delta":
                        if event.delta is not None and event.delta.stop_reason:
                            stop_reason = event.delta.stop_reason
                        if event.usage is not None:  # counts so far, not increments
                            if (counted := _input_tokens(event.usage)) is not None:
                                input_tokens = counted
                            if event.usage.output_tokens is not None:
                                output_tokens = event.usage.output_tokens
                    case "message_stop":
                        reason = _finish(stop_reason, has_calls=bool(calls))
                        if reason == "tool_calls":
                            for call in calls:
                                yield ToolCallRequest(tool_call=call)
                        usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
                        yield Finish(reason=reason, usage=usage)
                        return
                    case "error":
                        error = event.error or _EventError()
                        kind = error.type or "error"
                        raise model_error(f"{who}: {kind}: {error.message or 'no message'}")
                    case _:
                        pass  # ping, thinking blocks, and event types newer than this code
        raise LLMError(f"{who}: the stream ended before the model finished")

    def _decode(self, data: str, who: str) -> _Event:
        try:
            return _EVENT.decode(data)
        except msgspec.DecodeError as exc:
            raise LLMError(f"{who}: malformed stream event: {data[:200]!r}") from exc


def _input_tokens(usage: _EventUsage) -> int | None:
    parts = (
        usage.input_tokens,
        usage.cache_creation_input_tokens,
        usage.cache_read_input_tokens,
    )
    if all(part is None for part in parts):
        return None
    return sum(part or 0 for part in parts)


def _finish(raw: str | None, *, has_calls: bool) -> ModelFinish:
    # As for OpenAI: a tool call cut off by max_tokens is dropped rather than run, and unknown
    # reasons (refusal, pause_turn…) end the step as "stop".
    reason = _FINISH.get(raw or "", "stop")
    if reason == "length":
        return reason
    return "tool_calls" if has_calls else "stop"


def _request_body(
    model: str,
    max_tokens: int,
    *,
    system: str,
    history: Sequence[Message],
    tools: Sequence[ToolSpec],
) -> _Request:
    # The API has no system role: stored system messages join the prompt, in order.
    system_parts = [system] if system else []
    messages: list[_Message] = []
    for message in history:
        if message.role == "system":
            if message.content:
                system_parts.append(message.content)
            continue
        converted = _convert(message)
        if converted is None:
            continue
        if messages and messages[-1].role == converted.role:
            # Roles must alternate: e.g. tool results followed by the next user message.
            messages[-1] = _Message(messages[-1].role, messages[-1].content + converted.content)
        else:
            messages.append(converted)
    return _Request(
        model=model,
        max_tokens=max_tokens,
        messages=messages,
        stream=True,
        system="\n\n".join(system_parts) or None,
        tools=[_Tool(tool.name, tool.description, tool.input_schema) for tool in tools] or None,
    )


def _convert(message: Message) -> _Message | None:
    """One stored user, assistant or tool message, or None when it has nothing to send."""
    blocks: list[_Block] = []
    if message.role == "tool":
        blocks = [
            _ToolResult(result.tool_call_id, result_text(result), result.is_error)
            for result in message.tool_results or ()
        ]
        return _Message("user", blocks) if blocks else None
    if message.content:  # the API rejects empty text blocks
        blocks.append(_Text(message.content))
    for call in message.tool_calls or ():
        blocks.append(_ToolUse(call.id, call.name, call.arguments))
    if not blocks:
        return None
    return _Message("assistant" if message.role == "assistant" else "user", blocks)
