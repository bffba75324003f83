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
    name: str
    method: str
    path: str
    body: str | None = None


class Side(msgspec.Struct, frozen=True, kw_only=True):
    rps: float
    p50_ms: float
    p99_ms: float
    runs: list[LoadResult]


class RouteResult(msgspec.Struct, frozen=True, kw_only=True):
    route: str
    service: Side
    floor: Side
    rps_ratio: float
    p99_ratio: float
    meets_target: bool


def routes(seeded: Seeded) -> list[Route]:
    cid = seeded.conversation_id
    return [
        Route(
            name="GET /v1/conversations/{id}/messages",
            method="GET",
            path=f"/v1/conversations/{cid}/messages",
        ),
        Route(
            name="GET /v1/conversations?limit=50", method="GET", path="/v1/conversations?limit=50"
        ),
        Route(name="GET /v1/conversations/{id}", method="GET", path=f"/v1/conversations/{cid}"),
        Route(
            name="POST /v1/conversations", method="POST", path="/v1/conversations", body=CREATE_BODY
        ),
        Route(name="GET /v1/me", method="GET", path="/v1/me"),
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


def _side(runs: list[LoadResult]) -> Side:
    return Side(
        rps=statistics.median(r.rps for r in runs),
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
    for n in range(rounds):
        sides = order if n % 2 == 0 else order[::-1]
        for route in all_routes:
            for side in sides:
                result = run_load(spec(route, servers[side], duration_s), generator, cpu)
                runs.setdefault((route.name, side), []).append(result)
                progress(
                    f"round {n + 1}/{rounds} {side:7} {route.name:40} "
                    f"{result.rps:9.0f} req/s  p99 {result.p99_ms:7.2f} ms"
                    + (f"  ({result.non_2xx} non-2xx)" if result.non_2xx else "")
                )
    results = []
    for route in all_routes:
        service = _side(runs[(route.name, "service")])
        floor = _side(runs[(route.name, "floor")])
        rps_ratio = service.rps / floor.rps if floor.rps else 0.0
        p99_ratio = service.p99_ms / floor.p99_ms if floor.p99_ms else 0.0
        results.append(
            RouteResult(
                route=route.name,
                service=service,
                floor=floor,
                rps_ratio=rps_ratio,
                p99_ratio=p99_ratio,
                meets_target=rps_ratio >= RPS_TARGET and p99_ratio <= P99_TARGET,
            )
        )
    return results
