"""Reading request bodies (bounded) and writing JSON responses with msgspec."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeVar
from uuid import UUID

import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from faceplate.errors import Invalid, NotFound, PayloadTooLarge

MAX_BODY: Final = 1024 * 1024
_ENC: Final = msgspec.json.Encoder()
_T = TypeVar("_T")


_CONTENT_TYPE: Final = (b"content-type", b"application/json")


class JSONResponse(Response):
    """A response whose body msgspec encodes once, its headers built without a lookup."""

    media_type = "application/json"

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body = _ENC.encode(content)
        raw = [(b"content-length", str(len(body)).encode()), _CONTENT_TYPE]
        if headers:
            raw.extend(
                (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
            )
        self.raw_headers = raw


async def read_body(request: Request) -> bytes:
    """The whole body, refusing anything over 1 MiB without reading it whole."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge()
    chunks: list[bytes] = []
    size = 0
    receive = request.receive
    while True:  # the ASGI messages themselves: Request.stream() adds a generator per request
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def decode_body(request: Request, decoder: msgspec.json.Decoder[_T]) -> _T:
    """The body decoded into its struct; DecodeError and ValidationError reach the handlers."""
    body = await read_body(request)
    if not body.strip():
        raise msgspec.DecodeError("Input data was truncated")
    return decoder.decode(body)


def path_id(request: Request, name: str = "id") -> UUID:
    """A UUID from the path; anything else is a resource that does not exist."""
    try:
        return UUID(request.path_params[name])
    except ValueError:
        raise NotFound(f"{_resource(request)} not found") from None


def _resource(request: Request) -> str:
    return "MCP config" if "/mcp-configs" in request.url.path else "conversation"


def query_limit(request: Request) -> int:
    """?limit= from 1 to 100, 50 when absent."""
    raw = request.query_params.get("limit")
    if raw is None:
        return 50
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 100:
        raise Invalid("limit must be an integer from 1 to 100")
    return int(raw)
