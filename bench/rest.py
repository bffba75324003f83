"""REST routes, service against floor, alternated round by round so drift cancels."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Final, Literal

import httpx
import msgspec

from bench.loadgen import LoadResult, LoadSpec, run_load
from bench.seed import Seeded
from bench.servers import HOST, Server

# Targets of the issue: every route at >= 0.85x the floor's req/s, p99 <= 1.3x the floor's.
RPS_TARGET: Final = 0.85
P99_TARGET: Final = 1.3
CREATE_BODY: Final = '{"title":"bench"}'


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
    runs: list[LoadResult]
    cpu_us_runs: list[float]


class RouteResult(msgspec.Struct, frozen=True, kw_only=True):
    route: str
    service: Side
    floor: Side
    rps_ratio: float
    p99_ratio: float
    cpu_ratio: float  # service CPU per request / floor CPU per request
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


def compare_responses(
    servers: Sequence[Server], token: str, all_routes: Sequence[Route]
) -> list[str]:
    """Differences between what each server answers to each route (GET bodies byte for byte,
    POST statuses and keys); empty when they do the same work."""
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
                elif route.method == "GET" and answer.content != first.content:
                    problems.append(f"{route.name}: {server.name} answers a different body")
                elif route.method != "GET" and sorted(answer.json()) != sorted(first.json()):
                    problems.append(f"{route.name}: {server.name} answers other keys")
    return problems


def _side(runs: list[LoadResult], cpu_us: list[float]) -> Side:
    rps = statistics.median(r.rps for r in runs)
    return Side(
        cpu_us=statistics.median(cpu_us),
        cpu_us_runs=cpu_us,
        rps=rps,
        rps_spread=(max(r.rps for r in runs) - min(r.rps for r in runs)) / rps if rps else 0.0,
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        runs=runs,
    )


def measure(
    all_routes: Sequence[Route],
    servers: Mapping[Literal["service", "floor"], Server],
    *,
    token: str,
    connections: int,
    duration_s: float,
    warmup_s: float,
    rounds: int,
    generator: Literal["wrk", "python"],
    cpu: int | None,
    progress: Callable[[str], None],
) -> list[RouteResult]:
    """Median req/s and latencies of every route on both servers over `rounds` rounds; each
    round runs service then floor, the next floor then service."""

    def spec(route: Route, server: Server, seconds: float) -> LoadSpec:
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

    order: list[Literal["service", "floor"]] = ["service", "floor"]
    if warmup_s > 0:
        progress("warming up")
        for route in all_routes:
            for side in order:
                run_load(spec(route, servers[side], warmup_s), generator, cpu)
    runs: dict[tuple[str, str], list[LoadResult]] = {}
    cpu_us: dict[tuple[str, str], list[float]] = {}
    for n in range(rounds):
        sides = order if n % 2 == 0 else order[::-1]
        for route in all_routes:
            for side in sides:
                used = servers[side].cpu_s()
                result = run_load(spec(route, servers[side], duration_s), generator, cpu)
                used = servers[side].cpu_s() - used
                runs.setdefault((route.name, side), []).append(result)
                per_request = 1e6 * used / result.requests if result.requests else 0.0
                cpu_us.setdefault((route.name, side), []).append(per_request)
                progress(
                    f"round {n + 1}/{rounds} {side:7} {route.name:40} "
                    f"{result.rps:9.0f} req/s  p99 {result.p99_ms:7.2f} ms  "
                    f"{per_request:6.0f} us CPU/req"
                    + (f"  ({result.non_2xx} non-2xx)" if result.non_2xx else "")
                )
    results = []
    for route in all_routes:
        key_service, key_floor = (route.name, "service"), (route.name, "floor")
        service = _side(runs[key_service], cpu_us[key_service])
        floor = _side(runs[key_floor], cpu_us[key_floor])
        rps_ratio = service.rps / floor.rps if floor.rps else 0.0
        p99_ratio = service.p99_ms / floor.p99_ms if floor.p99_ms else 0.0
        results.append(
            RouteResult(
                route=route.name,
                service=service,
                floor=floor,
                rps_ratio=rps_ratio,
                p99_ratio=p99_ratio,
                cpu_ratio=service.cpu_us / floor.cpu_us if floor.cpu_us else 0.0,
                meets_target=rps_ratio >= RPS_TARGET and p99_ratio <= P99_TARGET,
            )
        )
    return results
