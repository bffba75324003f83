"""REST routes: the service, the service as `faceplate serve` runs it (its default access log
on), and the independent floor, alternated round by round so that drift falls on each."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Final, Literal

import httpx
import msgspec

from bench.loadgen import LoadResult, LoadSpec, run_load
from bench.pgcpu import PgCpu
from bench.seed import Seeded
from bench.servers import HOST, Server

# Targets of the issue: every route at >= 0.95x the floor's req/s with the access log off and
# >= 0.85x with `faceplate serve`'s default access log on; p99 <= 1.3x the floor's.
RPS_TARGET: Final = 0.95
LOG_TARGET: Final = 0.85
P99_TARGET: Final = 1.3
CREATE_BODY: Final = '{"title":"bench"}'
SERVICE: Final = "service"
LOGGED: Final = "serve"
FLOOR: Final = "floor"


class Route(msgspec.Struct, frozen=True, kw_only=True):
    key: str  # for --routes
    name: str
    method: str
    path: str
    body: str | None = None


class Side(msgspec.Struct, frozen=True, kw_only=True):
    rps: float
    p50_ms: float
    p99_ms: float
    rps_spread: float  # (max - min) / median of the runs' req/s: how noisy the machine was
    cpu_us: float  # the server's own CPU time per request: immune to other processes' noise
    pg_cpu_us: float | None  # its PostgreSQL backends' CPU time per request (None: not seen)
    runs: list[LoadResult]
    cpu_us_runs: list[float]
    pg_cpu_us_runs: list[float]


class RouteResult(msgspec.Struct, frozen=True, kw_only=True):
    route: str
    service: Side
    serve: Side | None  # `faceplate serve`, its default access log on
    floor: Side
    rps_ratio: float  # service req/s / floor req/s, access log off
    log_ratio: float | None  # serve req/s / floor req/s
    log_cost: float | None  # serve req/s / service req/s: what the access log leaves
    p99_ratio: float
    cpu_ratio: float  # service CPU per request / floor CPU per request
    pg_cpu_ratio: float | None
    meets_target: bool


def routes(seeded: Seeded) -> list[Route]:
    cid = seeded.conversation_id
    return [
        Route(
            key="messages",
            name="GET /v1/conversations/{id}/messages",
            method="GET",
            path=f"/v1/conversations/{cid}/messages",
        ),
        Route(
            key="list",
            name="GET /v1/conversations?limit=50",
            method="GET",
            path="/v1/conversations?limit=50",
        ),
        Route(
            key="get",
            name="GET /v1/conversations/{id}",
            method="GET",
            path=f"/v1/conversations/{cid}",
        ),
        Route(
            key="create",
            name="POST /v1/conversations",
            method="POST",
            path="/v1/conversations",
            body=CREATE_BODY,
        ),
        Route(key="me", name="GET /v1/me", method="GET", path="/v1/me"),
    ]


def load_spec(
    route: Route, server: Server, *, token: str, connections: int, seconds: float
) -> LoadSpec:
    """The load of one run: `route` on `server` for `seconds`."""
    return LoadSpec(
        host=HOST,
        port=server.port,
        method=route.method,
        path=route.path,
        body=route.body,
        token=token,
        connections=connections,
        duration_s=seconds,
    )


def _json(answer: httpx.Response) -> object:
    try:
        return json.loads(answer.content)
    except ValueError:
        return answer.content


def compare_responses(
    servers: Sequence[Server], token: str, all_routes: Sequence[Route]
) -> list[str]:
    """Differences between what each server answers to each route (GET bodies as JSON, whose
    key order and spacing may differ; POST statuses and keys); empty when they do the same
    work."""
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    problems: list[str] = []
    with httpx.Client(headers=headers, timeout=10.0) as client:
        for route in all_routes:
            answers = [
                client.request(route.method, s.base_url + route.path, content=route.body)
                for s in servers
            ]
            first = answers[0]
            if not 200 <= first.status_code < 300:
                problems.append(f"{route.name}: {servers[0].name} answered {first.status_code}")
            for server, answer in zip(servers[1:], answers[1:], strict=True):
                if answer.status_code != first.status_code:
                    problems.append(
                        f"{route.name}: status {answer.status_code} from {server.name}, "
                        f"{first.status_code} from {servers[0].name}"
                    )
                elif route.method == "GET" and _json(answer) != _json(first):
                    problems.append(f"{route.name}: {server.name} answers a different body")
                elif route.method != "GET" and sorted(answer.json()) != sorted(first.json()):
                    problems.append(f"{route.name}: {server.name} answers other keys")
    return problems


def _side(runs: list[LoadResult], cpu_us: list[float], pg_cpu_us: list[float | None]) -> Side:
    rps = statistics.median(r.rps for r in runs)
    pg = [p for p in pg_cpu_us if p is not None]
    return Side(
        cpu_us=statistics.median(cpu_us),
        cpu_us_runs=cpu_us,
        pg_cpu_us=statistics.median(pg) if pg else None,
        pg_cpu_us_runs=pg,
        rps=rps,
        rps_spread=(max(r.rps for r in runs) - min(r.rps for r in runs)) / rps if rps else 0.0,
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        runs=runs,
    )


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def measure(
    all_routes: Sequence[Route],
    servers: Mapping[str, Server],
    *,
    token: str,
    connections: int,
    duration_s: float,
    warmup_s: float,
    rounds: int,
    generator: Literal["wrk", "python"],
    cpu: int | None,
    pg: PgCpu | None,
    progress: Callable[[str], None],
) -> list[RouteResult]:
    """Median req/s, latencies and CPU per request of every route on every server over
    `rounds` rounds; each round runs the servers in turn, the next in the reverse order.
    `servers` holds SERVICE and FLOOR, and LOGGED when the access log is measured too."""

    def spec(route: Route, server: Server, seconds: float) -> LoadSpec:
        return load_spec(route, server, token=token, connections=connections, seconds=seconds)

    order = [name for name in (SERVICE, LOGGED, FLOOR) if name in servers]
    if warmup_s > 0:
        progress("warming up")
        for route in all_routes:
            for side in order:
                run_load(spec(route, servers[side], warmup_s), generator, cpu)
    runs: dict[tuple[str, str], list[LoadResult]] = {}
    cpu_us: dict[tuple[str, str], list[float]] = {}
    pg_us: dict[tuple[str, str], list[float | None]] = {}
    for n in range(rounds):
        sides = order if n % 2 == 0 else order[::-1]
        for route in all_routes:
            for side in sides:
                server = servers[side]
                pg_before = pg.snapshot(server.application_name) if pg else {}
                used = server.cpu_s()
                result = run_load(spec(route, server, duration_s), generator, cpu)
                used = server.cpu_s() - used
                pg_used = (
                    PgCpu.used(pg_before, pg.snapshot(server.application_name)) if pg else None
                )
                key = (route.name, side)
                runs.setdefault(key, []).append(result)
                done = result.requests
                per_request = 1e6 * used / done if done else 0.0
                pg_per_request = 1e6 * pg_used / done if done and pg_used is not None else None
                cpu_us.setdefault(key, []).append(per_request)
                pg_us.setdefault(key, []).append(pg_per_request)
                progress(
                    f"round {n + 1}/{rounds} {side:7} {route.name:40} "
                    f"{result.rps:9.0f} req/s  p99 {result.p99_ms:7.2f} ms  "
                    f"{per_request:6.0f} us CPU/req"
                    + (f" + PG {pg_per_request:6.0f}" if pg_per_request is not None else "")
                    + (f"  ({result.non_2xx} non-2xx)" if result.non_2xx else "")
                )
    results = []
    for route in all_routes:
        measured = {
            side: _side(
                runs[(route.name, side)], cpu_us[(route.name, side)], pg_us[(route.name, side)]
            )
            for side in order
        }
        service, floor, logged = measured[SERVICE], measured[FLOOR], measured.get(LOGGED)
        rps_ratio = service.rps / floor.rps if floor.rps else 0.0
        log_ratio = _ratio(logged.rps if logged else None, floor.rps)
        p99_ratio = service.p99_ms / floor.p99_ms if floor.p99_ms else 0.0
        ok = rps_ratio >= RPS_TARGET and p99_ratio <= P99_TARGET
        if log_ratio is not None:
            ok = ok and log_ratio >= LOG_TARGET
        results.append(
            RouteResult(
                route=route.name,
                service=service,
                serve=logged,
                floor=floor,
                rps_ratio=rps_ratio,
                log_ratio=log_ratio,
                log_cost=_ratio(logged.rps if logged else None, service.rps),
                p99_ratio=p99_ratio,
                cpu_ratio=service.cpu_us / floor.cpu_us if floor.cpu_us else 0.0,
                pg_cpu_ratio=_ratio(service.pg_cpu_us, floor.pg_cpu_us),
                meets_target=ok,
            )
        )
    return results
