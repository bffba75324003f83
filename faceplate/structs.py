"""Row structs and the JSONB shapes stored in messages and mcp_configs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

Role = Literal["user", "assistant", "system", "tool"]
FinishReason = Literal["stop", "tool_calls", "length", "cancelled", "error", "interrupted"]


# --- JSONB: tool calls and results (messages.tool_calls / messages.tool_results) ---------------


class ToolCall(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    arguments: dict[str, Any]


class TextBlock(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="text"):
    text: str


class ImageBlock(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="image"):
    data: str
    mime_type: str


class ResourceBlock(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="resource"):
    uri: str
    mime_type: str | None = None
    text: str | None = None
    blob: str | None = None


ContentBlock = TextBlock | ImageBlock | ResourceBlock


class ToolResult(msgspec.Struct, frozen=True, kw_only=True):
    tool_call_id: str
    name: str
    is_error: bool
    content: list[ContentBlock]
    duration_ms: int


# --- JSONB: MCP server configs (mcp_configs.config) -------------------------------------------


class HttpConfig(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="transport", tag="streamable_http"
):
    url: str
    headers: dict[str, str] = {}


class SseConfig(msgspec.Struct, frozen=True, kw_only=True, tag_field="transport", tag="sse"):
    url: str
    headers: dict[str, str] = {}


class StdioConfig(msgspec.Struct, frozen=True, kw_only=True, tag_field="transport", tag="stdio"):
    command: str
    args: list[str] = []
    env: dict[str, str] = {}


McpServerConfig = HttpConfig | SseConfig | StdioConfig


# --- Rows ---------------------------------------------------------------------------------------


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    email: str
    subject_id: str
    created_at: datetime


class Conversation(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    title: str | None
    created_at: datetime
    updated_at: datetime


class Message(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    conversation_id: UUID
    role: Role
    content: str
    tool_calls: list[ToolCall] | None
    tool_results: list[ToolResult] | None
    finish_reason: FinishReason | None
    created_at: datetime


class McpConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A stored MCP config; header and env values in `config` are still encrypted."""

    id: UUID
    name: str
    config: McpServerConfig
    enabled: bool
    created_at: datetime
    updated_at: datetime
