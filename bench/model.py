"""A scripted OpenAI-compatible model that streams deltas as fast as it can (or paced).

Run as `python -m bench.model PORT`. `POST /v1/chat/completions` answers with a streamed
completion whose size and pace the last user message asks for: `bench deltas=2000 rate=0`
(rate in deltas per second per answer; 0 is as fast as the socket takes them); `bench arrival`
is answered with one delta `<0 ns>`: when the request arrived. Each delta's
text is `<seq ns>`: its number and `time.monotonic_ns()` when it was written, a clock every
process of the machine shares, so a client can tell how long the delta took to reach it.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from typing import Any, Final

import msgspec

_HEAD: Final = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
)
_DELTA: Final = (
    b'data: {"choices":[{"index":0,"delta":{"content":"<%d %d>"},"finish_reason":null}]}\n\n'
)
_END: Final = (
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
    b'data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\n',
    b"data: [DONE]\n\n",
)
_ASK: Final = re.compile(r"bench deltas=(\d+) rate=([\d.]+)")
_ARRIVAL: Final = "bench arrival"
_YIELD_EVERY: Final = 16  # let concurrent answers interleave even in a burst
_LENGTH: Final = b"\r\ncontent-length:"


class _Message(msgspec.Struct):
    role: str
    content: Any = None


class _Request(msgspec.Struct):
    messages: list[_Message]


_REQUEST: Final = msgspec.json.Decoder(_Request)


def _chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def parse_ask(body: bytes) -> tuple[int, float, bool]:
    """How many deltas, at what rate, the last user message of a request asks for, and
    whether it asks when the request arrived (`bench arrival`)."""
    request = _REQUEST.decode(body)
    for message in reversed(request.messages):
        if message.role == "user" and isinstance(message.content, str):
            if message.content == _ARRIVAL:
                return 0, 0.0, True
            found = _ASK.search(message.content)
            if found:
                return int(found[1]), float(found[2]), False
    return 10, 0.0, False


async def _answer(
    writer: asyncio.StreamWriter, deltas: int, rate: float, arrived_ns: int | None = None
) -> None:
    """`deltas` deltas `<seq ns>`; asked for the arrival, one delta `<0 ns>` with the time the
    request's head was read."""
    writer.write(_HEAD)
    if arrived_ns is not None:
        writer.write(_chunk(_DELTA % (0, arrived_ns)))
    start = time.monotonic()
    for seq in range(1, deltas + 1):
        if rate > 0:
            wait = start + seq / rate - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        elif seq % _YIELD_EVERY == 0:
            await asyncio.sleep(0)
        writer.write(_chunk(_DELTA % (seq, time.monotonic_ns())))
        await writer.drain()
    writer.write(b"".join(_chunk(p) for p in _END) + b"0\r\n\r\n")
    await writer.drain()


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            arrived_ns = time.monotonic_ns()
            at = head.lower().find(_LENGTH)
            length = int(head[at + len(_LENGTH) : head.index(b"\r\n", at + 2)]) if at >= 0 else 0
            body = await reader.readexactly(length)
            if not head.startswith(b"POST ") or b"/chat/completions " not in head:
                writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                continue
            deltas, rate, arrival = parse_ask(body)
            await _answer(writer, deltas, rate, arrived_ns if arrival else None)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(port: int) -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        asyncio.run(serve(int(sys.argv[1])))
    else:
        uvloop.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
