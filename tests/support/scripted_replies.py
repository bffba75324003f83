"""What the scripted LLM sends: a scripted Reply as OpenAI or Anthropic server-sent events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

_ENCODER = msgspec.json.Encoder()
_ANTHROPIC_FINISH = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}


@dataclass(frozen=True, kw_only=True)
class ScriptedCall:
    """A tool call the model makes. Its arguments stream as `pieces` fragments of JSON text.

    `arguments` as a dict is encoded to JSON; as a str it is sent verbatim (e.g. broken JSON).
    `id` defaults to `call_<n>`, n counting the calls of the reply from 1.
    """

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None
    pieces: int = 3


@dataclass(frozen=True, kw_only=True)
class Reply:
    """One scripted answer. The convenience methods of ScriptedLLM build the usual ones.

    - `text`: text chunks, one streamed event each; `tool_calls` follow the text.
    - `finish`: "stop" | "tool_calls" | "length" (translated per API); any other string is sent
      verbatim as the API's own reason. Default: "tool_calls" if there are calls, else "stop".
    - `usage`: (input_tokens, output_tokens). OpenAI: a usage chunk only when given; Anthropic
      always reports usage, (0, 0) when not given.
    - `delay_s`: sleep before each delta event (text chunk or argument fragment).
    - `drop_after`: close the connection abruptly once this many delta events were sent, before
      the next delta or the finish (no [DONE] / message_stop).
    - `end_after`: end the response cleanly once this many delta events were sent, without any
      finish (no [DONE] / message_stop): a server that stops short.
    - `stream_error`: after the deltas, send the API's in-stream error event and end the stream.
    - `status`: answer this HTTP error status (with the API's JSON error body) instead.
    - `interleave`: OpenAI only: alternate the fragments of several calls instead of one after
      the other (their `index` still tells them apart).
    """

    text: Sequence[str] = ()
    tool_calls: Sequence[ScriptedCall] = ()
    finish: str | None = None
    usage: tuple[int, int] | None = None
    delay_s: float = 0.0
    drop_after: int | None = None
    end_after: int | None = None
    stream_error: str | None = None
    status: int | None = None
    error_message: str = "scripted failure"
    interleave: bool = False


@dataclass(frozen=True)
class Event:
    data: bytes
    kind: Literal["delta", "end", "other"]  # drops happen before a "delta" or an "end"


# --- rendering ----------------------------------------------------------------------------------


def _sse(payload: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + _ENCODER.encode(payload) + b"\n\n"


def _finish(reply: Reply) -> str:
    return reply.finish or ("tool_calls" if reply.tool_calls else "stop")


def _fragments(reply: Reply) -> list[tuple[int, ScriptedCall, list[str]]]:
    """For each call: its position, itself and its arguments cut into pieces."""
    out = []
    for index, call in enumerate(reply.tool_calls):
        raw = call.arguments
        text = raw if isinstance(raw, str) else _ENCODER.encode(raw).decode()
        size = max(1, -(-len(text) // max(1, call.pieces)))
        out.append((index, call, [text[i : i + size] for i in range(0, len(text), size)]))
    return out


def _call_id(index: int, call: ScriptedCall) -> str:
    return call.id or f"call_{index + 1}"


def openai_events(reply: Reply, model: str) -> list[Event]:
    def chunk(delta: dict[str, Any] | None, finish: str | None = None) -> bytes:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        return _sse(
            {
                "id": "chatcmpl-scripted",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": choices,
            }
        )

    events = [Event(chunk({"role": "assistant", "content": ""}), "other")]
    events += [Event(chunk({"content": text}), "delta") for text in reply.text]
    streams: list[list[Event]] = []
    for index, call, pieces in _fragments(reply):
        head = {
            "index": index,
            "id": _call_id(index, call),
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        stream = [Event(chunk({"tool_calls": [head]}), "delta")]
        for piece in pieces:
            fragment = {"index": index, "function": {"arguments": piece}}
            stream.append(Event(chunk({"tool_calls": [fragment]}), "delta"))
        streams.append(stream)
    if reply.interleave:
        longest = max((len(s) for s in streams), default=0)
        events += [s[i] for i in range(longest) for s in streams if i < len(s)]
    else:
        events += [event for stream in streams for event in stream]
    if reply.stream_error is not None:
        error = {"error": {"message": reply.stream_error, "type": "server_error"}}
        return [*events, Event(_sse(error), "end")]
    events.append(Event(chunk({}, _finish(reply)), "end"))
    if reply.usage is not None:
        usage = {
            "prompt_tokens": reply.usage[0],
            "completion_tokens": reply.usage[1],
            "total_tokens": sum(reply.usage),
        }
        events.append(
            Event(_sse({"id": "chatcmpl-scripted", "choices": [], "usage": usage}), "end")
        )
    events.append(Event(b"data: [DONE]\n\n", "end"))
    return events


def anthropic_events(reply: Reply) -> list[Event]:
    def event(kind: str, payload: dict[str, Any], role: Literal["delta", "end", "other"]) -> Event:
        return Event(_sse({"type": kind, **payload}, kind), role)

    input_tokens, output_tokens = reply.usage or (0, 0)
    message: dict[str, Any] = {
        "id": "msg_scripted",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": "scripted",
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1},
    }
    events = [event("message_start", {"message": message}, "other"), event("ping", {}, "other")]
    index = 0
    block: dict[str, Any]
    delta: dict[str, Any]
    if reply.text:
        block = {"type": "text", "text": ""}
        events.append(
            event("content_block_start", {"index": index, "content_block": block}, "other")
        )
        for text in reply.text:
            delta = {"type": "text_delta", "text": text}
            events.append(event("content_block_delta", {"index": index, "delta": delta}, "delta"))
        events.append(event("content_block_stop", {"index": index}, "other"))
        index += 1
    for position, call, pieces in _fragments(reply):
        block = {"type": "tool_use", "id": _call_id(position, call), "name": call.name, "input": {}}
        events.append(
            event("content_block_start", {"index": index, "content_block": block}, "other")
        )
        for piece in pieces:
            delta = {"type": "input_json_delta", "partial_json": piece}
            events.append(event("content_block_delta", {"index": index, "delta": delta}, "delta"))
        events.append(event("content_block_stop", {"index": index}, "other"))
        index += 1
    if reply.stream_error is not None:
        error = {"type": "overloaded_error", "message": reply.stream_error}
        return [*events, event("error", {"error": error}, "end")]
    finish = _finish(reply)
    delta = {"stop_reason": _ANTHROPIC_FINISH.get(finish, finish), "stop_sequence": None}
    usage = {"output_tokens": output_tokens}
    events.append(event("message_delta", {"delta": delta, "usage": usage}, "end"))
    events.append(event("message_stop", {}, "end"))
    return events


def error_body(api: Literal["openai", "anthropic"], message: str) -> dict[str, Any]:
    if api == "openai":
        return {"error": {"message": message, "type": "scripted_error", "code": None}}
    return {"type": "error", "error": {"type": "api_error", "message": message}}
