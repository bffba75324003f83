"""MCP tool results turned into the ToolResult stored with messages and shown to the model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp.shared.exceptions import MCPError

from faceplate.mcp_client.errors import ToolError
from faceplate.structs import ContentBlock, ImageBlock, ResourceBlock, TextBlock, ToolResult


def tool_result(
    result: types.CallToolResult, *, tool_call_id: str, name: str, duration_ms: int
) -> ToolResult:
    """A server's answer, tool errors (`is_error`) included, as a ToolResult."""
    content = content_blocks(result.content)
    if not content and result.structured_content is not None:
        content = [TextBlock(text=json.dumps(result.structured_content, ensure_ascii=False))]
    if not content and result.is_error:
        content = [TextBlock(text="the tool failed without saying why")]
    return ToolResult(
        tool_call_id=tool_call_id,
        name=name,
        is_error=result.is_error,
        content=content,
        duration_ms=duration_ms,
    )


def error_result(message: str, *, tool_call_id: str, name: str, duration_ms: int) -> ToolResult:
    """A failure that never reached the tool, or never came back, as an error ToolResult."""
    return ToolResult(
        tool_call_id=tool_call_id,
        name=name,
        is_error=True,
        content=[TextBlock(text=message)],
        duration_ms=duration_ms,
    )


def innermost(exc: BaseException) -> BaseException:
    """The first leaf of an exception group, or the exception itself."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def describe_failure(exc: BaseException | None) -> str:
    """A readable reason for the model and the user; never config secrets."""
    if exc is None:
        return "the MCP session was closed"
    exc = innermost(exc)
    if isinstance(exc, ToolError):
        return exc.message
    if isinstance(exc, MCPError):
        if exc.code == types.CONNECTION_CLOSED:
            return "the connection to the MCP server was lost"
        return f"the MCP server answered with an error: {exc.message}"
    if isinstance(exc, TimeoutError):
        return "the MCP server did not answer in time"
    if isinstance(exc, httpx2.HTTPStatusError):
        response = exc.response
        return f"the MCP server answered HTTP {response.status_code} {response.reason_phrase}"
    if isinstance(exc, OSError | httpx2.TransportError | anyio.BrokenResourceError):
        return f"could not reach the MCP server: {exc or type(exc).__name__}"
    return f"the MCP server failed: {exc or type(exc).__name__}"


def content_blocks(content: Sequence[types.ContentBlock]) -> list[ContentBlock]:
    """MCP content as stored blocks; audio and resource links become a short text description."""
    return [_block(item) for item in content]


def _block(item: Any) -> ContentBlock:
    match item:
        case types.TextContent(text=text):
            return TextBlock(text=text)
        case types.ImageContent(data=data, mime_type=mime_type):
            return ImageBlock(data=data, mime_type=mime_type)
        case types.EmbeddedResource(resource=types.TextResourceContents() as resource):
            return ResourceBlock(
                uri=str(resource.uri), mime_type=resource.mime_type, text=resource.text
            )
        case types.EmbeddedResource(resource=types.BlobResourceContents() as resource):
            return ResourceBlock(
                uri=str(resource.uri), mime_type=resource.mime_type, blob=resource.blob
            )
        case types.AudioContent(data=data, mime_type=mime_type):
            size = len(data) * 3 // 4
            return TextBlock(text=f"[audio, {mime_type}, about {size} bytes, not shown]")
        case types.ResourceLink():
            return TextBlock(text=_describe_link(item))
    kind = getattr(item, "type", type(item).__name__)
    return TextBlock(text=f"[content of type {kind}, not shown]")


def _describe_link(link: types.ResourceLink) -> str:
    parts = [f"[resource link: {link.title or link.name} <{link.uri}>"]
    if link.mime_type:
        parts.append(f", {link.mime_type}")
    if link.description:
        parts.append(f": {link.description}")
    return "".join(parts) + "]"
