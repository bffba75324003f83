"""The streaming interface every LLM provider implements."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal, Protocol

import msgspec

from faceplate.structs import Message, ToolCall

ModelFinish = Literal["stop", "tool_calls", "length"]

# A tool call whose streamed arguments are not a JSON object carries its raw text under this key
# (and nothing else), so the mistake stays visible; its tool will reject or ignore the key.
INVALID_ARGUMENTS_KEY = "_invalid_json"


class ToolSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A tool offered to the model, under the name the model sees. `annotations` are the MCP
    server's hints about the tool (`readOnlyHint`, …): for approval, never sent to a model."""

    name: str
    description: str
    input_schema: dict[str, Any]
    annotations: dict[str, Any] | None = None


class TextDelta(msgspec.Struct, frozen=True, kw_only=True):
    text: str


class ToolCallRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A complete tool call, emitted once all of its streamed fragments arrived."""

    tool_call: ToolCall


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    input_tokens: int | None = None
    output_tokens: int | None = None


class Finish(msgspec.Struct, frozen=True, kw_only=True):
    """Always the last event of a successful stream."""

    reason: ModelFinish
    usage: Usage | None = None


ModelEvent = TextDelta | ToolCallRequest | Finish


class LLMError(Exception):
    """The model could not answer: timeout, HTTP error, or a stream broken mid-way.

    `code` is the `error.code` of the turn it ends.
    """

    code = "upstream_error"


class ContextTooLong(LLMError):
    """The model refused the request as longer than its context window."""

    code = "context_too_long"


class ChatModel(Protocol):
    """One LLM provider. `history` is the stored conversation, oldest first; `model` names the
    provider's model for this request (None: `name`, the default)."""

    name: str

    def stream(
        self,
        *,
        system: str,
        history: Sequence[Message],
        tools: Sequence[ToolSpec],
        model: str | None = None,
    ) -> AsyncIterator[ModelEvent]: ...

    async def aclose(self) -> None: ...
