"""The first token: from sending `user_message` to the model receiving its request.

Each case is a user of its own with 0, 5 or 20 MCP servers (`bench.mcpserver`) enabled, on this
machine or 100 ms of round trip away, and a socket on a fresh conversation: it sends a message
and waits for `turn_end`. The scripted model answers `bench arrival` with the monotonic time its
request arrived, a clock every process of the machine shares. The first turn of a case opens
the sessions (cold); then the cases take one turn each per round, in rotating order, so drift
falls on all of them. The medians of those turns are what a user feels and what is judged: the
time added by the servers over the no-server case must not grow with their number or
distance.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Final
from uuid import UUID

import httpx
import msgspec
from websockets.asyncio.client import ClientConnection

from bench.ws import _FRAME, _open

ADDED_TARGET_MS: Final = 5.0
_ARRIVAL: Final = re.compile(r"<0 (\d+)>")
_ASK: Final = msgspec.json.encode({"type": "user_message", "content": "bench arrival"}).decode()


class FirstCase(msgspec.Struct, frozen=True, kw_only=True):
    servers: int
    where: str  # "-", "local" or "100 ms away"
    turns: int
    median_ms: float
    max_ms: float
    cold_ms: float  # the case's first turn, which opens the sessions and lists the tools
    added_ms: float  # median_ms - the no-server case's median_ms
    runs_ms: list[float]


class FirstResult(msgspec.Struct, frozen=True, kw_only=True):
    cases: list[FirstCase]
    target: str
    meets_target: bool


async def _turn(ws: ClientConnection, failures: list[str]) -> float | None:
    """One turn on an open socket: ms from sending to the model's request, or None."""
    started = time.monotonic_ns()
    await ws.send(_ASK)
    arrived = None
    async with asyncio.timeout(60):
        async for raw in ws:
            frame = _FRAME.decode(raw)
            if frame.type == "text_delta" and arrived is None:
                found = _ARRIVAL.search(frame.delta)
                if found:
                    arrived = int(found[1])
            elif frame.type == "turn_end":
                if frame.status != "completed":
                    failures.append(f"turn ended {frame.status}")
                break
            elif frame.type == "error":
                failures.append(f"error frame {frame.code}")
                break
    return None if arrived is None else (arrived - started) / 1e6


async def _case_user(base_url: str, token: str, servers: int, url: str | None, label: str) -> UUID:
    """A user of its own for one case: `servers` enabled configs of `url`, one conversation."""
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
        for n in range(servers):
            body = {
                "name": f"bench {label} {n}",
                "config": {"transport": "streamable_http", "url": url},
                "enabled": True,
            }
            answer = await http.post("/v1/mcp-configs", json=body)
            answer.raise_for_status()
        answer = await http.post("/v1/conversations", json={})
        answer.raise_for_status()
        return UUID(answer.json()["id"])


async def first_token(
    base_url: str,
    ws_url_of: Callable[[UUID], str],
    token_of: Callable[[str], str],
    *,
    local_url: str,
    far_url: str,
    counts: Sequence[int] = (5, 20),
    turns: int = 5,
    progress: Callable[[str], None] = lambda _: None,
) -> FirstResult:
    """Every case side by side: each a user of its own (`token_of(email)` signs it in) with
    its servers enabled and a socket open. The first turn of each opens its sessions; then
    the cases take turns, one turn each per round, the order rotating every round, so that
    whatever drifts on the machine falls on every case alike."""
    plan = [(0, "-", None)] + [
        (n, where, url)
        for where, url in (("local", local_url), ("100 ms away", far_url))
        for n in counts
    ]
    failures: list[str] = []
    sockets: list[ClientConnection] = []
    runs: list[list[float]] = [[] for _ in plan]
    cold: list[float] = []
    try:
        for index, (servers, where, url) in enumerate(plan):
            token = token_of(f"first-{index}@bench.example")
            label = f"{where} {index}"
            conversation = await _case_user(base_url, token, servers, url, label)
            sockets.append(await _open(ws_url_of(conversation), token))
        for ws in sockets:
            cold.append(await _turn(ws, failures) or 0.0)
        for round_ in range(turns):
            order = list(range(len(plan)))
            shift = round_ % len(order)
            for index in order[shift:] + order[:shift]:
                took = await _turn(sockets[index], failures)
                if took is None or failures:
                    raise RuntimeError(f"first-token turns failed: {failures or 'no arrival'}")
                runs[index].append(took)
    finally:
        for ws in sockets:
            await ws.close()
    cases: list[FirstCase] = []
    base = statistics.median(runs[0])
    for (servers, where, _), measured, cold_ms in zip(plan, runs, cold, strict=True):
        median = statistics.median(measured)
        cases.append(
            FirstCase(
                servers=servers,
                where=where,
                turns=len(measured),
                median_ms=median,
                max_ms=max(measured),
                cold_ms=cold_ms,
                added_ms=median - base,
                runs_ms=measured,
            )
        )
        progress(
            f"first token, {servers:2} servers {where:11}: median {median:7.2f} ms, "
            f"cold {cold_ms:8.1f} ms"
        )
    ok = all(c.added_ms <= ADDED_TARGET_MS for c in cases)
    return FirstResult(
        cases=cases, target=f"added <= {ADDED_TARGET_MS:g} ms over no servers", meets_target=ok
    )
