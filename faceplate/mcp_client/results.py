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
    result: types.CallToolResult,
    *,
    tool_call_id: str,
    name: str,
    duration_ms: int,
    max_bytes: int | None = None,
) -> ToolResult:
    """A server's answer, tool errors (`is_error`) included, as a ToolResult; cut to
    `max_bytes` (see `truncated`)."""
    content = content_blocks(result.content)
    if not content and result.structured_content is not None:
        content = [TextBlock(text=json.dumps(result.structured_content, ensure_ascii=False))]
    if not content and result.is_error:
        content = [TextBlock(text="the tool failed without saying why")]
    if max_bytes is not None:
        content = truncated(content, max_bytes)
    return ToolResult(
        tool_call_id=tool_call_id,
        name=name,
        is_error=result.is_error,
        content=content,
        duration_ms=duration_ms,
    )


def block_bytes(block: ContentBlock) -> int:
    """A block's size as a result's limit counts it: UTF-8 text, base64 data as sent."""
    match block:
        case TextBlock(text=text):
            return len(text.encode())
        case ImageBlock(data=data, mime_type=mime_type):
            return len(data) + len(mime_type)
        case ResourceBlock():
            size = len((block.text or "").encode())
            return len(block.uri) + size + len(block.blob or "") + len(block.mime_type or "")


def truncated(content: list[ContentBlock], max_bytes: int) -> list[ContentBlock]:
    """`content` cut to `max_bytes`, note included: blocks are kept in order while they fit, a
    text block is cut where the limit falls, a block that cannot be cut (an image, a resource)
    and does not fit whole is dropped, and the last text block ends with
    `[truncated: N bytes]`, N being the bytes left out. Content within the limit is unchanged.
    """
    sizes = [block_bytes(block) for block in content]
    total = sum(sizes)
    if total <= max_bytes:
        return content
    room = max(0, max_bytes - len(_note(total).encode()) - 1)
    kept: list[ContentBlock] = []
    for block, size in zip(content, sizes, strict=True):
        if size <= room:
            kept.append(block)
            room -= size
        elif isinstance(block, TextBlock) and room > 0:
            cut = block.text.encode()[:room].decode(errors="ignore")
            kept.append(TextBlock(text=cut))
            room -= len(cut.encode())
        if room <= 0:
            break
    left_out = total - sum(block_bytes(block) for block in kept)
    note = _note(left_out)
    last_text = max((i for i, b in enumerate(kept) if isinstance(b, TextBlock)), default=None)
    if last_text is None:
        return [*kept, TextBlock(text=note)]
    block = kept[last_text]
    assert isinstance(block, TextBlock)
    kept[last_text] = TextBlock(text=f"{block.text}\n{note}" if block.text else note)
    return kept


def _note(left_out: int) -> str:
    return f"[truncated: {left_out} bytes]"


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
