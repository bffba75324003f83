"""`--metrics`: what the metrics cost. The service with FACEPLATE_METRICS=true against the same
service with them off, side by side in one run: REST routes and the WebSocket relay."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Final
from uuid import UUID

import httpx
import msgspec

from bench import rest
from bench.seed import Seeded, create_conversations
from bench.servers import HOST, Server
from bench.ws import Mode, WsRun, relay_run

# Metrics on must cost at most this much throughput against metrics off, on every route.
COST_TARGET: Final = 0.95


class RestCost(msgspec.Struct, frozen=True, kw_only=True):
    route: str
    on_rps: float
    off_rps: float
    rps_ratio: float  # on / off
    on_cpu_us: float
    off_cpu_us: float
    cpu_us_added: float  # CPU per request the metrics add (on - off)
    on_p99_ms: float
    off_p99_ms: float
    meets_target: bool


class RelayCost(msgspec.Struct, frozen=True, kw_only=True):
    mode: Mode
    turns: int
    deltas_per_turn: int
    on_deltas_per_s: float
    off_deltas_per_s: float
    deltas_ratio: float  # on / off
    on_p99_delay_ms: float
    off_p99_delay_ms: float
    meets_target: bool


class LayerCost(msgspec.Struct, frozen=True, kw_only=True):
    """In one process, alternated: what the metrics add to one request, apart from the noise of
    a machine shared with PostgreSQL and the load."""

    bare_us: float  # a minimal ASGI answer, called directly
    off_us: float  # the same through the metrics layer, metrics off
    on_us: float  # the same, metrics on (route template, status, latency tally)
    acquire_us: float  # what metrics on add to one pool acquire (its tally)
    added_us: float  # on - bare: the HTTP layer's cost per request with metrics on


class MetricsCost(msgspec.Struct, frozen=True, kw_only=True):
    rest: list[RestCost]
    relay: list[RelayCost]
    layer: LayerCost
    counted_requests: float  # HTTP requests the metrics-on service's scrape counts
    counted_turns: float  # turns it counts as ended
    target: str


def rest_cost(results: Sequence[rest.RouteResult]) -> list[RestCost]:
    """`rest.measure` run with the metrics-on service as "service" and metrics-off as "floor"."""
    return [
        RestCost(
            route=r.route,
            on_rps=r.service.rps,
            off_rps=r.floor.rps,
            rps_ratio=r.rps_ratio,
            on_cpu_us=r.service.cpu_us,
            off_cpu_us=r.floor.cpu_us,
            cpu_us_added=r.service.cpu_us - r.floor.cpu_us,
            on_p99_ms=r.service.p99_ms,
            off_p99_ms=r.floor.p99_ms,
            meets_target=r.rps_ratio >= COST_TARGET or r.cpu_ratio <= 1 / COST_TARGET,
        )
        for r in results
    ]


async def relay_cost(
    db_url: str,
    seeded: Seeded,
    on: Server,
    off: Server,
    *,
    runs: Sequence[tuple[Mode, int, int, float]],
    rounds: int,
    progress: Callable[[str], None],
) -> list[RelayCost]:
    """Each (mode, turns, deltas, rate) on both services, alternating which goes first."""
    costs = []
    for mode, turns, deltas, rate in runs:
        sides: dict[str, list[WsRun]] = {"on": [], "off": []}
        for n in range(rounds):
            for side in ("on", "off") if n % 2 == 0 else ("off", "on"):
                server = on if side == "on" else off
                ids = await create_conversations(db_url, seeded.user_id, turns)
                result = await relay_run(
                    _ws_url(server),
                    seeded.token,
                    ids,
                    target=f"metrics {side}",
                    mode=mode,
                    deltas=deltas,
                    rate=rate,
                )
                if result.failures:
                    raise RuntimeError(f"metrics {side} relay failed: {result.failures[:3]}")
                sides[side].append(result)
                progress(
                    f"metrics {side:3} ws {mode} {turns:3} turns "
                    f"{result.deltas_per_s:9.0f} deltas/s  p99 {result.p99_delay_ms:8.1f} ms"
                )
        on_dps = statistics.median(r.deltas_per_s for r in sides["on"])
        off_dps = statistics.median(r.deltas_per_s for r in sides["off"])
        ratio = on_dps / off_dps if off_dps else 0.0
        costs.append(
            RelayCost(
                mode=mode,
                turns=turns,
                deltas_per_turn=deltas,
                on_deltas_per_s=on_dps,
                off_deltas_per_s=off_dps,
                deltas_ratio=ratio,
                on_p99_delay_ms=statistics.median(r.p99_delay_ms for r in sides["on"]),
                off_p99_delay_ms=statistics.median(r.p99_delay_ms for r in sides["off"]),
                # Paced runs are bound by the model's pace, not the relay: judged on burst only.
                meets_target=ratio >= COST_TARGET if mode == "burst" else True,
            )
        )
    return costs


def counted(server: Server) -> tuple[float, float]:
    """HTTP requests and ended turns the metrics-on service counted: proof they were on."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(server.base_url + "/metrics", timeout=10).text
    requests = turns = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "faceplate_http_request_duration_seconds_count":
                requests += sample.value
            elif sample.name == "faceplate_turns_ended_total":
                turns += sample.value
    return requests, turns


def layer_cost(requests: int = 50_000, rounds: int = 5) -> LayerCost:
    """Medians over alternated rounds of `requests` calls each, in this process."""
    import asyncio
    import time
    from typing import Any

    from starlette.routing import Route

    from faceplate.metrics import Metrics
    from faceplate.web.measured import Measured

    route = Route("/v1/me", lambda request: None)

    class _State:
        def __init__(self, metrics: Metrics | None) -> None:
            self.metrics = metrics

    async def answer(scope: Any, receive: Any, send: Any) -> None:
        scope["route"] = route
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive() -> Any:
        return {"type": "http.request"}

    async def send(message: Any) -> None:
        return None

    async def per_call(app: Any, state: _State) -> float:
        started = time.perf_counter()
        for _ in range(requests):
            scope = {"type": "http", "method": "GET", "state": {"faceplate": state}}
            await app(scope, receive, send)
        return 1e6 * (time.perf_counter() - started) / requests

    async def measure() -> LayerCost:
        measured, metrics = Measured(answer), Metrics()
        on, off = _State(metrics), _State(None)
        bare, offs, ons, acquires = [], [], [], []
        for _ in range(rounds):
            bare.append(await per_call(answer, off))
            offs.append(await per_call(measured, off))
            ons.append(await per_call(measured, on))
            started = time.perf_counter()
            for _ in range(requests):
                metrics.acquired(0.0004)
            acquires.append(1e6 * (time.perf_counter() - started) / requests)
        b, on_us = statistics.median(bare), statistics.median(ons)
        return LayerCost(
            bare_us=b,
            off_us=statistics.median(offs),
            on_us=on_us,
            acquire_us=statistics.median(acquires),
            added_us=on_us - b,
        )

    return asyncio.run(measure())


def _ws_url(server: Server) -> Callable[[UUID], str]:
    return lambda cid: f"ws://{HOST}:{server.port}/v1/conversations/{cid}/ws"


def render(cost: MetricsCost) -> list[str]:
    out = [
        "Metrics cost: the service with FACEPLATE_METRICS=true (on) vs false (off); "
        f"{cost.target}; "
        f"the 'on' service counted {cost.counted_requests:.0f} HTTP requests and "
        f"{cost.counted_turns:.0f} turns"
    ]
    layer = cost.layer
    out.append(
        f"  in one process: the HTTP layer adds {layer.added_us:.2f} us a request with metrics "
        f"on ({layer.off_us - layer.bare_us:.2f} us off; a bare answer {layer.bare_us:.2f} us), "
        f"a pool acquire {layer.acquire_us:.2f} us"
    )
    for r in cost.rest:
        out.append(
            f"  {r.route:40} on/off {r.on_rps:7.0f} / {r.off_rps:7.0f} req/s = {r.rps_ratio:.2f}  "
            f"CPU {r.on_cpu_us:5.0f} / {r.off_cpu_us:5.0f} us/req ({r.cpu_us_added:+.1f})  "
            f"p99 {r.on_p99_ms:.2f} / {r.off_p99_ms:.2f} ms  {'yes' if r.meets_target else 'NO'}"
        )
    for w in cost.relay:
        out.append(
            f"  relay {w.mode} {w.turns} turns x {w.deltas_per_turn:<27} on/off "
            f"{w.on_deltas_per_s:7.0f} / {w.off_deltas_per_s:7.0f} deltas/s = "
            f"{w.deltas_ratio:.2f}  p99 delay {w.on_p99_delay_ms:.1f} / "
            f"{w.off_p99_delay_ms:.1f} ms  {'yes' if w.meets_target else 'NO'}"
        )
    return out
