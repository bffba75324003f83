"""WebSocket clients: the relay of model deltas, and idle authenticated sockets."""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal
from uuid import UUID

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from bench.loadgen import percentile

Mode = Literal["burst", "paced"]
# Targets: relay throughput >= 0.8x the bare Starlette floor; p99 delay < 50 ms at 50 turns.
RELAY_TARGET: Final = 0.8
DELAY_TARGET_MS: Final = 50.0

_MARK: Final = re.compile(r"<(\d+) (\d+)>")
_TIMEOUT_S: Final = 120.0


class _Frame(msgspec.Struct):
    type: str
    delta: str = ""
    status: str = ""
    code: str = ""
    message: Any = None


_FRAME: Final = msgspec.json.Decoder(_Frame)
_ENC: Final = msgspec.json.Encoder()


class WsRun(msgspec.Struct, frozen=True, kw_only=True):
    target: str
    mode: Mode
    turns: int
    deltas_per_turn: int
    rate: float  # deltas/s per turn asked of the model; 0 = as fast as it can
    deltas: int  # model deltas that reached the clients
    frames: int  # text_delta frames
    seconds: float
    deltas_per_s: float
    frames_per_s: float
    p50_delay_ms: float
    p99_delay_ms: float
    stream_s: float  # longest first text_delta -> turn_end of one turn
    failures: list[str]


class WsSide(msgspec.Struct, frozen=True, kw_only=True):
    deltas_per_s: float
    frames_per_s: float
    p50_delay_ms: float
    p99_delay_ms: float
    runs: list[WsRun]


class WsResult(msgspec.Struct, frozen=True, kw_only=True):
    mode: Mode
    turns: int
    deltas_per_turn: int
    rate: float
    service: WsSide
    floor: WsSide
    frames_ratio: float
    deltas_ratio: float
    target: str
    meets_target: bool


class IdleResult(msgspec.Struct, frozen=True, kw_only=True):
    target: str
    sockets: int
    rss_before_kib: int
    rss_after_kib: int
    per_socket_kib: float


def ask(deltas: int, rate: float) -> str:
    """The user message that makes bench.model answer `deltas` deltas at `rate` per second."""
    return f"bench deltas={deltas} rate={rate:g}"


async def _open(url: str, token: str) -> ClientConnection:
    ws = await connect(
        url,
        additional_headers={"Authorization": f"Bearer {token}"},
        compression=None,
        max_size=2**24,
        ping_interval=None,
        open_timeout=60,
        close_timeout=5,
    )
    frame = _FRAME.decode(await asyncio.wait_for(ws.recv(), 30))
    if frame.type != "ready":
        await ws.close()
        raise RuntimeError(f"expected a ready frame, got {frame.type!r}")
    return ws


async def probe(url: str, token: str) -> str | None:
    """Why the WebSocket route at `url` cannot be benchmarked, or None when it works."""
    try:
        ws = await _open(url, token)
    except InvalidStatus as e:
        return f"the handshake was answered with HTTP {e.response.status_code} (no such route?)"
    except ConnectionClosed as e:
        code = e.rcvd.code if e.rcvd else None
        return f"the socket was closed with code {code} before ready"
    except (OSError, TimeoutError, RuntimeError) as e:
        return f"{type(e).__name__}: {e}"
    await ws.close()
    return None


class _Turn:
    def __init__(self) -> None:
        self.delays_ns: list[int] = []
        self.frames = 0
        self.first_ns = 0
        self.end_ns = 0
        self.carry = ""
        self.failure: str | None = None


async def _read_turn(ws: ClientConnection, turn: _Turn) -> None:
    try:
        async for raw in ws:
            now = time.monotonic_ns()
            frame = _FRAME.decode(raw)
            if frame.type == "text_delta":
                turn.frames += 1
                turn.first_ns = turn.first_ns or now
                # A frame may end inside a delta's marker (the service splits long text): the
                # rest comes with the next frame, and the delta counts when it is whole.
                text = turn.carry + frame.delta
                end = 0
                for m in _MARK.finditer(text):
                    turn.delays_ns.append(now - int(m[2]))
                    end = m.end()
                turn.carry = text[end:][-64:]
            elif frame.type == "turn_end":
                turn.end_ns = now
                if frame.status != "completed":
                    turn.failure = f"turn ended {frame.status}"
                return
            elif frame.type == "error":
                turn.failure = f"error frame {frame.code}"
                return
        turn.failure = "socket closed before turn_end"
    except ConnectionClosed as e:
        turn.failure = f"socket closed with {e.rcvd.code if e.rcvd else None} before turn_end"


async def relay_run(
    url_of: Callable[[UUID], str],
    token: str,
    conversation_ids: Sequence[UUID],
    *,
    target: str,
    mode: Mode,
    deltas: int,
    rate: float,
) -> WsRun:
    """One turn on each conversation at once, all started together; `url_of(id)` is the socket
    URL of a conversation."""
    sockets = await asyncio.gather(*(_open(url_of(cid), token) for cid in conversation_ids))
    turns = [_Turn() for _ in sockets]
    message = _ENC.encode({"type": "user_message", "content": ask(deltas, rate)}).decode()
    try:
        readers = [
            asyncio.create_task(_read_turn(ws, t)) for ws, t in zip(sockets, turns, strict=True)
        ]
        start = time.monotonic_ns()
        await asyncio.gather(*(ws.send(message) for ws in sockets))
        await asyncio.wait_for(asyncio.gather(*readers), _TIMEOUT_S)
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    end = max((t.end_ns for t in turns), default=start) or time.monotonic_ns()
    seconds = max(end - start, 1) / 1e9
    delays = sorted(d for t in turns for d in t.delays_ns)
    frames = sum(t.frames for t in turns)
    return WsRun(
        target=target,
        mode=mode,
        turns=len(turns),
        deltas_per_turn=deltas,
        rate=rate,
        deltas=len(delays),
        frames=frames,
        seconds=seconds,
        deltas_per_s=len(delays) / seconds,
        frames_per_s=frames / seconds,
        p50_delay_ms=percentile(delays, 50) / 1e6,
        p99_delay_ms=percentile(delays, 99) / 1e6,
        stream_s=max(((t.end_ns - t.first_ns) / 1e9 for t in turns if t.first_ns), default=0.0),
        failures=[t.failure for t in turns if t.failure]
        + (
            [f"{len(turns) * deltas - len(delays)} deltas lost"]
            if len(delays) < len(turns) * deltas
            else []
        ),
    )


def ws_side(runs: list[WsRun]) -> WsSide:
    return WsSide(
        deltas_per_s=statistics.median(r.deltas_per_s for r in runs),
        frames_per_s=statistics.median(r.frames_per_s for r in runs),
        p50_delay_ms=statistics.median(r.p50_delay_ms for r in runs),
        p99_delay_ms=statistics.median(r.p99_delay_ms for r in runs),
        runs=runs,
    )


def ws_result(mode: Mode, service: list[WsRun], floor: list[WsRun], *, judged: bool) -> WsResult:
    """Medians of both sides; `judged` says whether the p99 delay target applies (paced runs
    at the largest concurrency)."""
    s, f = ws_side(service), ws_side(floor)
    frames_ratio = s.frames_per_s / f.frames_per_s if f.frames_per_s else 0.0
    deltas_ratio = s.deltas_per_s / f.deltas_per_s if f.deltas_per_s else 0.0
    if mode == "burst":
        # The service may merge several deltas into one frame (CONTRACT §10), the floor sends one
        # frame per delta: relayed model deltas per second is the comparable throughput.
        target, ok = f"deltas/s >= {RELAY_TARGET}x floor", deltas_ratio >= RELAY_TARGET
    elif judged:
        target, ok = f"p99 delay < {DELAY_TARGET_MS:g} ms", s.p99_delay_ms < DELAY_TARGET_MS
    else:
        target, ok = "-", True
    failed = any(r.failures for r in service + floor)
    return WsResult(
        mode=mode,
        turns=service[0].turns,
        deltas_per_turn=service[0].deltas_per_turn,
        rate=service[0].rate,
        service=s,
        floor=f,
        frames_ratio=frames_ratio,
        deltas_ratio=deltas_ratio,
        target=target,
        meets_target=ok and not failed,
    )


async def idle_sockets(
    url_of: Callable[[UUID], str],
    token: str,
    conversation_ids: Sequence[UUID],
    *,
    count: int,
    rss_kib: Callable[[], int],
    target: str,
) -> IdleResult:
    """RSS growth of a server while it holds `count` authenticated, idle sockets (`rss_kib()`
    reads the server's RSS); the sockets spread over the conversations."""
    warm = [await _open(url_of(conversation_ids[0]), token) for _ in range(10)]
    await asyncio.gather(*(ws.close() for ws in warm))
    await asyncio.sleep(0.5)
    before = rss_kib()
    sockets: list[ClientConnection] = []
    try:
        for at in range(0, count, 100):
            batch = range(at, min(count, at + 100))
            sockets += await asyncio.gather(
                *(_open(url_of(conversation_ids[n % len(conversation_ids)]), token) for n in batch)
            )
        await asyncio.sleep(1.0)
        after = rss_kib()
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return IdleResult(
        target=target,
        sockets=count,
        rss_before_kib=before,
        rss_after_kib=after,
        per_socket_kib=(after - before) / count,
    )
