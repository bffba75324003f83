"""A keep-alive HTTP/1.1 load generator on raw asyncio streams, for machines without wrk.

Run as `python -m bench.pyload '<LoadSpec as JSON>'`; prints one LoadResult as JSON. Each
connection sends a request, reads its head and its Content-Length body, and sends the next;
only requests completed within the duration count.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Final

import msgspec

from bench.loadgen import LoadResult, LoadSpec, summarize

_LENGTH: Final = b"\r\ncontent-length:"


def _request(spec: LoadSpec) -> bytes:
    lines = [
        f"{spec.method} {spec.path} HTTP/1.1",
        f"host: {spec.host}:{spec.port}",
        f"authorization: Bearer {spec.token}",
    ]
    body = spec.body.encode() if spec.body is not None else b""
    if spec.body is not None:
        lines += ["content-type: application/json", f"content-length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.non_2xx = 0
        self.errors = 0


async def _connection(spec: LoadSpec, request: bytes, deadline: float, tally: _Tally) -> None:
    reader, writer = await asyncio.open_connection(spec.host, spec.port)
    try:
        while (start := time.perf_counter()) < deadline:
            writer.write(request)
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                at = head.lower().find(_LENGTH)
                if at < 0:
                    raise ValueError("response without content-length")
                end = head.index(b"\r\n", at + 2)
                await reader.readexactly(int(head[at + len(_LENGTH) : end]))
            except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                tally.errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(spec.host, spec.port)
                continue
            done = time.perf_counter()
            if done > deadline:
                break
            tally.latencies.append(done - start)
            if not head.startswith((b"HTTP/1.1 2", b"HTTP/1.1 3")):
                tally.non_2xx += 1
    finally:
        writer.close()


async def run(spec: LoadSpec) -> LoadResult:
    """Drive `spec.connections` keep-alive connections for `spec.duration_s` seconds."""
    request = _request(spec)
    tally = _Tally()
    start = time.perf_counter()
    deadline = start + spec.duration_s
    await asyncio.gather(
        *(_connection(spec, request, deadline, tally) for _ in range(spec.connections))
    )
    elapsed = min(time.perf_counter(), deadline) - start
    return summarize(
        "python (asyncio keep-alive)",
        tally.latencies,
        elapsed,
        errors=tally.errors,
        non_2xx=tally.non_2xx,
    )


def main() -> None:
    spec = msgspec.json.decode(sys.argv[1], type=LoadSpec)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        result = asyncio.run(run(spec))
    else:
        result = uvloop.run(run(spec))
    sys.stdout.write(msgspec.json.encode(result).decode() + "\n")


if __name__ == "__main__":
    main()
