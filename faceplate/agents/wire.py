"""Conversions every provider shares: tool results as text, streamed arguments as a dict."""

from __future__ import annotations

import secrets
from typing import Any

import msgspec

from faceplate.agents.base import INVALID_ARGUMENTS_KEY
from faceplate.structs import ContentBlock, ImageBlock, ResourceBlock, TextBlock, ToolResult

_ARGUMENTS = msgspec.json.Decoder(dict[str, Any])


def block_text(block: ContentBlock) -> str:
    """A content block as text: images and binary resources become a short placeholder."""
    match block:
        case TextBlock():
            return block.text
        case ImageBlock():
            return f"[image {block.mime_type}]"
        case ResourceBlock(text=str() as text):
            return f"[resource {block.uri}]\n{text}"
        case ResourceBlock():
            kind = f" {block.mime_type}" if block.mime_type else ""
            return f"[resource {block.uri}{kind}]"


def result_text(result: ToolResult) -> str:
    """The text a model reads for one tool result: its blocks, one per line."""
    return "\n".join(block_text(block) for block in result.content)


def decode_arguments(raw: str) -> dict[str, Any]:
    """Arguments from their JSON text: blank means `{}`; see INVALID_ARGUMENTS_KEY for the rest."""
    if not raw.strip():
        return {}
    try:
        return _ARGUMENTS.decode(raw)
    except msgspec.DecodeError:
        return {INVALID_ARGUMENTS_KEY: raw}


def new_call_id() -> str:
    """An id for a tool call whose provider did not give one."""
    return f"call_{secrets.token_hex(12)}"
