"""Builders for stored messages and a collector for model streams, shared by the agent tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

from faceplate.agents.base import ModelEvent, TextDelta
from faceplate.structs import ContentBlock, Message, Role, TextBlock, ToolCall, ToolResult

CONVERSATION_ID = UUID("01930000-0000-7000-8000-000000000000")


def message(
    role: Role,
    content: str = "",
    *,
    tool_calls: list[ToolCall] | None = None,
    tool_results: list[ToolResult] | None = None,
) -> Message:
    return Message(
        id=uuid4(),
        conversation_id=CONVERSATION_ID,
        role=role,
        content=content,
        tool_calls=tool_calls,
        tool_results=tool_results,
        finish_reason="stop" if role == "assistant" else None,
        created_at=datetime.now(UTC),
    )


def result(
    call_id: str,
    name: str,
    *content: ContentBlock | str,
    is_error: bool = False,
) -> ToolResult:
    blocks = [TextBlock(text=c) if isinstance(c, str) else c for c in content]
    return ToolResult(
        tool_call_id=call_id, name=name, is_error=is_error, content=blocks, duration_ms=5
    )


async def collect(
    stream: AsyncIterator[ModelEvent], into: list[ModelEvent] | None = None
) -> list[ModelEvent]:
    """Every event of a stream, closing it even on error; `into` keeps what came before one."""
    events = [] if into is None else into
    try:
        async for event in stream:
            events.append(event)
    finally:
        close = getattr(stream, "aclose", None)  # a model's stream is an async generator
        if close is not None:
            await close()
    return events


def text_of(events: list[ModelEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))
