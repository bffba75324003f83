"""The first token: from sending `user_message` to the model receiving its request.

The user enables 0, 5 or 20 MCP servers (`bench.mcpserver`), on this machine or 100 ms of
round trip away; in a fresh conversation it sends a message, waits for `turn_end`, and again.
The scripted model answers `bench arrival` with the monotonic time its request arrived, a
clock every process of the machine shares. The first turn of a case opens the sessions (cold);
the others are the turns a user feels, and their median is what is judged: the time added by
the servers over the no-server case must not grow with their number or distance.
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


async def first_token(
    base_url: str,
    ws_url_of: Callable[[UUID], str],
    token: str,
    *,
    local_url: str,
    far_url: str,
    counts: Sequence[int] = (5, 20),
    turns: int = 5,
    progress: Callable[[str], None] = lambda _: None,
) -> FirstResult:
    """Every case, one after the other, on configs the bench creates for its user."""
    headers = {"authorization": f"Bearer {token}"}
    cases: list[FirstCase] = []
    failures: list[str] = []
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
        configs: dict[str, list[str]] = {"local": [], "100 ms away": []}
        for where, url in (("local", local_url), ("100 ms away", far_url)):
            for n in range(max(counts, default=0)):
                body = {
                    "name": f"bench {where} {n}",
                    "config": {"transport": "streamable_http", "url": url},
                    "enabled": False,
                }
                answer = await http.post("/v1/mcp-configs", json=body)
                answer.raise_for_status()
                configs[where].append(answer.json()["id"])
        enabled: set[str] = set()
        plan = [(0, "-")] + [(n, w) for w in ("local", "100 ms away") for n in counts]
        for servers, where in plan:
            wanted = set(configs.get(where, [])[:servers])
            for config_id in enabled ^ wanted:
                answer = await http.patch(
                    f"/v1/mcp-configs/{config_id}", json={"enabled": config_id in wanted}
                )
                answer.raise_for_status()
            enabled = wanted
            answer = await http.post("/v1/conversations", json={})
            answer.raise_for_status()
            ws = await _open(ws_url_of(UUID(answer.json()["id"])), token)
            try:
                runs = [await _turn(ws, failures) for _ in range(turns + 1)]
            finally:
                await ws.close()
            if any(r is None for r in runs) or failures:
                raise RuntimeError(f"first-token turns failed: {failures or runs}")
            measured = [r for r in runs[1:] if r is not None]
            cold = runs[0] or 0.0
            median = statistics.median(measured)
            base = cases[0].median_ms if cases else median
            cases.append(
                FirstCase(
                    servers=servers,
                    where=where,
                    turns=len(measured),
                    median_ms=median,
                    max_ms=max(measured),
                    cold_ms=cold,
                    added_ms=median - base,
                    runs_ms=measured,
                )
            )
            progress(
                f"first token, {servers:2} servers {where:11}: median {median:7.2f} ms, "
                f"cold {cold:8.1f} ms"
            )
    ok = all(c.added_ms <= ADDED_TARGET_MS for c in cases)
    return FirstResult(
        cases=cases, target=f"added <= {ADDED_TARGET_MS:g} ms over no servers", meets_target=ok
    )
