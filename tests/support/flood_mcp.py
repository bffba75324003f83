"""A hostile MCP server: the SDK's server, except that a call of its `flood` tool is answered
with as many bytes as asked for, made as they are sent (so the server itself stays small).

`flood` takes `{"bytes": N, "mode": ...}`; the answer is one JSON-RPC result whose text is N
bytes of "x", sent as:

- `json`: an `application/json` body without a length (streamable HTTP);
- `declared`: the same with its `content-length`;
- `gzip`: the same, gzip-compressed (a few hundred KiB on the wire);
- `event`: one event of a `text/event-stream` answer (streamable HTTP);
- legacy SSE always sends it as one event of the session's stream.

Every other request goes to the SDK's server, whose `flood` tool answers "not flooded".
"""

from __future__ import annotations

import asyncio
import itertools
import json
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Final
from urllib.parse import parse_qs

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.support.server import ServerThread

_ANY_HOST = TransportSecuritySettings(enable_dns_rebinding_protection=False)
_CHUNK: Final = b"x" * 65536


def build_flood_server() -> MCPServer:
    server = MCPServer("faceplate-flood", log_level="WARNING")

    @server.tool(description="Answer with as many bytes as asked for.")
    def flood(bytes: int, mode: str = "json") -> str:
        return "not flooded"

    @server.tool(description="Answer with this many bytes of text, the SDK's own way.")
    def big(bytes: int) -> str:
        return "y" * bytes

    @server.tool(description="Add two integers.")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="A tool whose input schema is about 100 kB.")
    def huge_schema(text: Annotated[str, Field(description="z" * 100_000)]) -> str:
        return text

    for n in range(10):
        server.add_tool(lambda: "ok", name=f"tool_{n:02d}", description=f"Tool {n}.")
    return server


def _head(request_id: Any) -> bytes:
    return (
        b'{"jsonrpc":"2.0","id":'
        + json.dumps(request_id).encode()
        + b',"result":{"content":[{"type":"text","text":"'
    )


_TAIL: Final = b'"}],"isError":false}}'


def _body(request_id: Any, size: int) -> Iterator[bytes]:
    yield _head(request_id)
    left = size
    while left > 0:
        piece = _CHUNK if left >= len(_CHUNK) else _CHUNK[:left]
        left -= len(piece)
        yield piece
    yield _TAIL


def _flood_call(body: bytes) -> tuple[Any, int, str] | None:
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("method") != "tools/call":
        return None
    params = message.get("params") or {}
    if params.get("name") != "flood":
        return None
    arguments = params.get("arguments") or {}
    return message.get("id"), int(arguments.get("bytes", 0)), str(arguments.get("mode", "json"))


async def _read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    received: list[Message] = []
    body = b""
    while True:
        message = await receive()
        received.append(message)
        body += message.get("body", b"")
        if message["type"] != "http.request" or not message.get("more_body"):
            return body, received


class _Gone:
    """Set once the client of a response went away: the flood stops there."""

    def __init__(self) -> None:
        self.gone = False


class _Sessions:
    """Legacy SSE: each session's stream, so that a call's answer can be put on it."""

    def __init__(self) -> None:
        self.sends: dict[str, tuple[Send, asyncio.Lock, _Gone]] = {}


def flooding(inner: ASGIApp) -> ASGIApp:
    sessions = _Sessions()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        if scope["method"] == "GET":
            gone = _Gone()

            async def watched_receive() -> Message:
                message = await receive()
                if message["type"] == "http.disconnect":
                    gone.gone = True
                return message

            await inner(scope, watched_receive, _watched_stream(send, sessions, gone))
            return
        body, received = await _read_body(receive)
        call = _flood_call(body) if scope["method"] == "POST" else None

        async def replay() -> Message:
            return received.pop(0) if received else await receive()

        if call is None:
            await inner(scope, replay, send)
            return
        request_id, size, mode = call
        session = parse_qs(scope.get("query_string", b"").decode()).get("session_id", [""])[0]
        if session:
            await _flood_stream(sessions, session, request_id, size, send)
            return
        gone = _Gone()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.gone = True

        watcher = asyncio.create_task(watch())
        try:
            await _flood_answer(request_id, size, mode, send, gone)
        finally:
            watcher.cancel()

    return app


def _watched_stream(send: Send, sessions: _Sessions, gone: _Gone) -> Send:
    lock = asyncio.Lock()

    async def watched(message: Message) -> None:
        body = message.get("body", b"")
        if b"session_id=" in body:
            session = body.split(b"session_id=", 1)[1].split(b"\r", 1)[0].split(b"\n", 1)[0]
            sessions.sends[session.decode()] = (send, lock, gone)
        async with lock:
            await send(message)

    return watched


async def _flood_answer(request_id: Any, size: int, mode: str, send: Send, gone: _Gone) -> None:
    media = b"text/event-stream" if mode == "event" else b"application/json"
    headers = [(b"content-type", media)]
    pieces: Iterator[bytes] = _body(request_id, size)
    if mode == "declared":
        length = len(_head(request_id)) + size + len(_TAIL)
        headers.append((b"content-length", str(length).encode()))
    elif mode == "gzip":
        headers.append((b"content-encoding", b"gzip"))
        pieces = _gzipped(pieces)
    elif mode == "event":
        pieces = itertools.chain([b"event: message\r\ndata: "], pieces, [b"\r\n\r\n"])
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await _send_all(send, pieces, gone)


def _gzipped(pieces: Iterator[bytes]) -> Iterator[bytes]:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    for piece in pieces:
        if out := packer.compress(piece):
            yield out
    yield packer.flush()


async def _flood_stream(
    sessions: _Sessions, session: str, request_id: Any, size: int, send: Send
) -> None:
    await send({"type": "http.response.start", "status": 202, "headers": []})
    await send({"type": "http.response.body", "body": b"Accepted"})
    stream, lock, gone = sessions.sends[session]
    async with lock:
        event = itertools.chain(
            [b"event: message\r\ndata: "], _body(request_id, size), [b"\r\n\r\n"]
        )
        await _send_all(stream, event, gone, final=False)


async def _send_all(
    send: Send, pieces: Iterator[bytes], gone: _Gone, *, final: bool = True
) -> None:
    try:
        for piece in pieces:
            await asyncio.sleep(0)  # a dead client's send never waits: let the watcher see it
            if gone.gone:
                return
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        if final:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    except OSError:
        pass  # the client stopped reading, as it should


@contextmanager
def flood_servers() -> Iterator[tuple[str, str]]:
    """The flooding server over streamable HTTP and over legacy SSE: their endpoint URLs."""
    http_app = build_flood_server().streamable_http_app(transport_security=_ANY_HOST)
    sse_app = build_flood_server().sse_app(transport_security=_ANY_HOST)
    with (
        ServerThread(flooding(http_app), lifespan="auto", timeout_graceful_shutdown=1) as http,
        ServerThread(flooding(sse_app), lifespan="auto", timeout_graceful_shutdown=1) as sse,
    ):
        yield f"{http.url}/mcp", f"{sse.url}/sse"
