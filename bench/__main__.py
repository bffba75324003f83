"""`python -m bench`: seed, serve, load the service and its floors side by side, report.

See bench/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal
from uuid import UUID

import msgspec
from uuid6 import uuid7

from bench import loadgen, pg, rest, workers
from bench import metrics as metrics_cost
from bench.first import FirstResult, first_token
from bench.pgcpu import PgCpu
from bench.profile import record, summarize
from bench.report import Section, Summary, render, write_json
from bench.seed import Seeded, create_conversations, seed
from bench.servers import (
    HOST,
    ROOT,
    Server,
    bench_env,
    loop_and_http,
    mcp_server,
    model_server,
    serve_server,
    uvicorn_server,
)
from bench.writes import WriteCounter, WritesResult, writes_result
from bench.ws import IdleResult, Mode, WsResult, WsRun, idle_sockets, probe, relay_run, ws_result
from faceplate.auth.dev import load_or_create_secret, mint_token

PARTS: Final = ("rest", "first", "ws", "writes", "idle", "workers")
ROUTE_KEYS: Final = ("messages", "list", "get", "create", "me")


class Size(msgspec.Struct, frozen=True, kw_only=True):
    conversations: int
    messages: int
    duration_s: float
    rounds: int
    warmup_s: float
    ws_turns: tuple[int, ...]
    ws_deltas: int  # per turn in burst runs
    ws_paced_deltas: int  # per turn in paced runs
    ws_rate: float  # deltas/s per turn in paced runs
    ws_rounds: int
    writes_deltas: int
    writes_stream_s: float  # how long the paced turn of the writes count streams
    idle_sockets: int
    first_servers: tuple[int, ...]  # MCP servers enabled in the first-token cases (and none)
    first_turns: int  # measured turns per case, after the one that opens the sessions


SIZES: Final = {
    "full": Size(
        conversations=200,
        messages=50,
        duration_s=5.0,
        rounds=3,
        warmup_s=1.0,
        ws_turns=(1, 50),
        ws_deltas=2000,
        ws_paced_deltas=300,
        ws_rate=100.0,
        ws_rounds=3,
        writes_deltas=2000,
        writes_stream_s=5.0,
        idle_sockets=2000,
        first_servers=(5, 20),
        first_turns=15,
    ),
    "tiny": Size(
        conversations=20,
        messages=50,
        duration_s=0.5,
        rounds=1,
        warmup_s=0.2,
        ws_turns=(1, 3),
        ws_deltas=50,
        ws_paced_deltas=10,
        ws_rate=100.0,
        ws_rounds=1,
        writes_deltas=100,
        writes_stream_s=0.5,
        idle_sockets=20,
        first_servers=(2,),
        first_turns=2,
    ),
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=sorted(SIZES), default="full")
    p.add_argument("--duration", type=float, help="seconds per REST run (wrk: whole seconds)")
    p.add_argument("--rounds", type=int, help="alternated rounds of each measurement")
    p.add_argument("--warmup", type=float, help="seconds of warm-up per route and server")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    p.add_argument(
        "--database-url",
        default=os.environ.get("FACEPLATE_DATABASE_URL") or None,
        help="a server to make a scratch database on (default: $FACEPLATE_DATABASE_URL, "
        "else an embedded PostgreSQL in a temporary directory)",
    )
    p.add_argument("--parts", default=",".join(PARTS), help="comma-separated: " + ",".join(PARTS))
    p.add_argument(
        "--routes",
        default=",".join(ROUTE_KEYS),
        help="REST routes, comma-separated: " + ",".join(ROUTE_KEYS),
    )
    p.add_argument("--json", type=Path, help="where the JSON summary goes")
    p.add_argument(
        "--service-app",
        default="faceplate.app:app",
        help="the ASGI app measured as the service (module:attr), to try a variant",
    )
    p.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    p.add_argument(
        "--no-serve",
        action="store_true",
        help="REST without `faceplate serve` (its default access log) as a third side",
    )
    p.add_argument("--profile", action="store_true", help="py-spy the service on every route")
    p.add_argument(
        "--metrics",
        action="store_true",
        help="serve the service with FACEPLATE_METRICS=true, and measure it against itself "
        "with metrics off (REST and relay)",
    )
    return p


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _cpus(no_pin: bool) -> tuple[int | None, int | None, str]:
    """CPU of the servers, CPU of the load, and how it was decided."""
    cpus = sorted(os.sched_getaffinity(0))
    if no_pin:
        return None, None, f"{len(cpus)} CPUs, nothing pinned"
    if len(cpus) < 2 or shutil.which("taskset") is None:
        return None, None, f"{len(cpus)} CPUs, nothing pinned (needs 2 CPUs and taskset)"
    return (
        cpus[0],
        cpus[1],
        f"{len(cpus)} CPUs: servers on CPU {cpus[0]}, load and scripted model on CPU {cpus[1]}, "
        "PostgreSQL unpinned",
    )


def _git_commit() -> str | None:
    """HEAD, marked when the service's code differs from it."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "faceplate", "sql"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{head}+uncommitted" if head and dirty else head or None


class _Run:
    """Everything one bench run shares."""

    def __init__(self, args: argparse.Namespace, size: Size) -> None:
        self.args = args
        self.size = size
        self.parts = {p.strip() for p in args.parts.split(",") if p.strip()}
        unknown = self.parts - set(PARTS)
        if unknown:
            raise SystemExit(f"bench: unknown part(s) {', '.join(sorted(unknown))}")
        self.all_cpus = os.sched_getaffinity(0)  # before main pins itself to the load's CPU
        self.server_cpu, self.load_cpu, self.cpus = _cpus(args.no_pin)
        self.duration_s = args.duration if args.duration is not None else size.duration_s
        self.rounds = args.rounds if args.rounds is not None else size.rounds
        self.warmup_s = args.warmup if args.warmup is not None else size.warmup_s
        self.generator: Literal["wrk", "python"] = (
            loadgen.choose(args.loadgen) if self.parts & {"rest", "workers"} else "python"
        )
        self.load_at_start = os.getloadavg()[0]
        self.notes: list[str] = [
            "PostgreSQL runs on the same machine, unpinned: it takes CPU from both the servers "
            "and the load; the service and its floor pay that equally",
        ]

    def start(
        self,
        stack: ExitStack,
        apps: dict[str, str],
        env: dict[str, str],
        logdir: Path,
        extra_env: dict[str, dict[str, str]] | None = None,
    ) -> dict[str, Server]:
        """Start every server at once (imports overlap), then wait until each is ready;
        `extra_env` adds to `env` for the servers it names."""
        servers = {
            name: stack.enter_context(
                serve_server(
                    name,
                    env={**env, **(extra_env or {}).get(name, {})},
                    cpu=self.server_cpu,
                    logdir=logdir,
                )
                if app == "serve"
                else uvicorn_server(
                    name,
                    app,
                    env={**env, **(extra_env or {}).get(name, {})},
                    cpu=self.server_cpu,
                    logdir=logdir,
                    ready_path=None,
                )
            )
            for name, app in apps.items()
        }
        for server in servers.values():
            server.wait_ready("/readyz")
        return servers


def _ws_url(server: Server) -> Callable[[UUID], str]:
    return lambda cid: f"ws://{HOST}:{server.port}/v1/conversations/{cid}/ws"


async def _relay(
    run: _Run, db_url: str, seeded: Seeded, service: Server, floor: Server
) -> list[WsResult]:
    size, results = run.size, []
    modes: list[tuple[Mode, int, float]] = [
        ("burst", size.ws_deltas, 0.0),
        ("paced", size.ws_paced_deltas, size.ws_rate),
    ]
    for mode, deltas, rate in modes:
        for turns in size.ws_turns:
            runs: dict[str, list[WsRun]] = {"service": [], "floor": []}
            for n in range(size.ws_rounds):
                for side in ("service", "floor") if n % 2 == 0 else ("floor", "service"):
                    if side == "service":
                        ids = await create_conversations(db_url, seeded.user_id, turns)
                    else:
                        ids = [uuid7() for _ in range(turns)]
                    server = service if side == "service" else floor
                    result = await relay_run(
                        _ws_url(server),
                        seeded.token,
                        ids,
                        target=side,
                        mode=mode,
                        deltas=deltas,
                        rate=rate,
                    )
                    runs[side].append(result)
                    _say(
                        f"ws {mode} {turns:3} turns {side:7} {result.deltas_per_s:9.0f} deltas/s "
                        f"{result.frames_per_s:9.0f} frames/s  p99 {result.p99_delay_ms:8.1f} ms"
                        + (f"  {result.failures[:3]}" if result.failures else "")
                    )
            judged = mode == "paced" and turns == max(size.ws_turns)
            results.append(ws_result(mode, runs["service"], runs["floor"], judged=judged))
    return results


async def _writes(run: _Run, db_url: str, seeded: Seeded, service: Server) -> WritesResult:
    size = run.size
    async with WriteCounter(db_url) as counter:
        counted = []
        for mode, rate in (
            ("burst", 0.0),
            ("paced", size.writes_deltas / size.writes_stream_s),
        ):
            ids = await create_conversations(db_url, seeded.user_id, 1)
            mark = await counter.mark()
            turn = await relay_run(
                _ws_url(service),
                seeded.token,
                ids,
                target="service",
                mode="burst" if mode == "burst" else "paced",
                deltas=size.writes_deltas,
                rate=rate,
            )
            if turn.failures:
                raise RuntimeError(f"the {mode} turn failed: {turn.failures}")
            await asyncio.sleep(1.0)  # a write that lands just after turn_end still counts
            counted.append(await counter.since(mark, turn))
            _say(f"writes {mode}: {counted[-1].statements} statements in {turn.stream_s:.2f} s")
    return writes_result(counted[0], counted[1])


async def _idle(run: _Run, seeded: Seeded, servers: Sequence[Server]) -> list[IdleResult]:
    results = []
    for server in servers:
        result = await idle_sockets(
            _ws_url(server),
            seeded.token,
            seeded.conversation_ids,
            count=run.size.idle_sockets,
            rss_kib=server.rss_kib,
            target=server.name.removeprefix("ws-"),
        )
        _say(f"idle {server.name}: {result.per_socket_kib:.1f} KiB per socket")
        results.append(result)
    return results


def _metrics(
    run: _Run, db_url: str, seeded: Seeded, on: Server, off: Server
) -> metrics_cost.MetricsCost:
    """The metrics-on service against the metrics-off one: every asked REST route, then the
    relay (burst and paced, at the largest concurrency)."""
    measured = rest.measure(
        _routes(run, seeded),
        {"service": on, "floor": off},
        token=seeded.token,
        connections=run.args.connections,
        duration_s=run.duration_s,
        warmup_s=run.warmup_s,
        rounds=run.rounds,
        generator=run.generator,
        cpu=run.load_cpu,
        pg=None,
        progress=lambda line: _say("metrics on/off: " + line),
    )
    size, turns = run.size, max(run.size.ws_turns)
    relay = _run_async(
        metrics_cost.relay_cost(
            db_url,
            seeded,
            on,
            off,
            runs=[
                ("burst", turns, size.ws_deltas, 0.0),
                ("paced", turns, size.ws_paced_deltas, size.ws_rate),
            ],
            rounds=size.ws_rounds,
            progress=_say,
        )
    )
    requests, ended = metrics_cost.counted(on)
    return metrics_cost.MetricsCost(
        rest=metrics_cost.rest_cost(measured),
        relay=relay,
        layer=metrics_cost.layer_cost(),
        counted_requests=requests,
        counted_turns=ended,
        target=f"target: on/off >= {metrics_cost.COST_TARGET} (req/s, or CPU per request), "
        "relay deltas/s in burst runs",
    )


def _run_async(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run(coro)
    return uvloop.run(coro)


async def _first(
    run: _Run, seeded: Seeded, service: Server, stack: ExitStack, logdir: Path
) -> FirstResult:
    local = stack.enter_context(mcp_server(0, cpu=run.load_cpu, logdir=logdir))
    far = stack.enter_context(mcp_server(100, cpu=run.load_cpu, logdir=logdir))
    secret = load_or_create_secret(logdir / "data")  # the service's dev key: its users' tokens
    return await first_token(
        service.base_url,
        _ws_url(service),
        lambda email: mint_token(secret, email=email),
        local_url=local,
        far_url=far,
        counts=run.size.first_servers,
        turns=run.size.first_turns,
        progress=_say,
    )


def _routes(run: _Run, seeded: Seeded) -> list[rest.Route]:
    """The REST routes `--routes` asks for."""
    keys = {k.strip() for k in run.args.routes.split(",") if k.strip()}
    if keys - set(ROUTE_KEYS):
        raise SystemExit(f"bench: unknown route(s) {', '.join(sorted(keys - set(ROUTE_KEYS)))}")
    return [r for r in rest.routes(seeded) if r.key in keys]


def _rest(
    run: _Run, seeded: Seeded, servers: dict[str, Server], db_url: str
) -> tuple[list[rest.RouteResult], dict[str, Any] | None]:
    routes = _routes(run, seeded)
    measured = {k: servers[k] for k in (rest.SERVICE, rest.LOGGED, rest.FLOOR) if k in servers}
    problems = rest.compare_responses(list(measured.values()), seeded.token, routes)
    if problems:
        raise RuntimeError("service and floor differ:\n  " + "\n  ".join(problems))
    pg_cpu = PgCpu(db_url)
    try:
        results = rest.measure(
            routes,
            measured,
            token=seeded.token,
            connections=run.args.connections,
            duration_s=run.duration_s,
            warmup_s=run.warmup_s,
            rounds=run.rounds,
            generator=run.generator,
            cpu=run.load_cpu,
            pg=pg_cpu,
            progress=_say,
        )
    finally:
        pg_cpu.close()
    service, floor = servers[rest.SERVICE], servers[rest.FLOOR]
    profiles = _profile(run, routes, seeded, [service, floor]) if run.args.profile else None
    return results, profiles


def _profile(
    run: _Run, routes: Sequence[rest.Route], seeded: Seeded, servers: Sequence[Server]
) -> dict[str, Any]:
    outdir = (run.args.json or ROOT / "bench" / "results" / "x").parent / "profiles"
    outdir.mkdir(parents=True, exist_ok=True)
    profiles: dict[str, Any] = {}
    for route in routes:
        name = route.name.replace("/", "_").replace(" ", "").replace("?", "_").strip("_")
        for server in servers:
            spec = rest.load_spec(
                route,
                server,
                token=seeded.token,
                connections=run.args.connections,
                seconds=run.duration_s,
            )
            _say(f"profiling {server.name} on {route.name}")
            collapsed = record(
                server.pid,
                run.duration_s,
                outdir / f"{server.name}-{name}.txt",
                run.load_cpu,
                functools.partial(loadgen.run_load, spec, run.generator, run.load_cpu),
            )
            profiles.setdefault(route.name, {})[server.name] = summarize(collapsed)
    return profiles


def _generator_name(run: _Run) -> str:
    if run.generator == "wrk":
        return loadgen.wrk_version() or "wrk"
    return "bench.pyload (asyncio keep-alive; wrk not used)"


def _workers(
    run: _Run, seeded: Seeded, env: dict[str, str], db_url: str, logdir: Path
) -> workers.WorkersResult | Section:
    problem = workers.room_problem(db_url, env)
    if problem is not None:
        _say(f"workers: skipped, {problem}")
        return Section(skipped=problem)
    _say("starting `faceplate serve --workers 1` and `--workers 2`, unpinned")
    return workers.workers_part(
        _routes(run, seeded),
        env=env,
        db_url=db_url,
        logdir=logdir,
        cpus=run.all_cpus,
        token=seeded.token,
        connections=run.args.connections,
        duration_s=run.duration_s,
        warmup_s=run.warmup_s,
        rounds=run.rounds,
        generator=run.generator,
        generator_name=_generator_name(run),
        progress=_say,
    )


def _meta(run: _Run, db: pg.BenchDatabase, size_name: str) -> dict[str, Any]:
    loop, http = loop_and_http()
    generator = _generator_name(run)
    return {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _git_commit(),
        "size": size_name,
        "sizes": msgspec.to_builtins(run.size),
        "cpus": run.cpus,
        "python": platform.python_version(),
        "service_app": run.args.service_app,
        "uvicorn": f"one worker, --no-access-log, --loop {loop}, --http {http}; "
        "serve: `faceplate serve`, its defaults (access log on, to a file); workers: "
        "`faceplate serve --workers 1` and `--workers 2`, its defaults, nothing pinned",
        "generator": generator,
        "connections": run.args.connections,
        "rounds": run.rounds,
        "duration_s": run.duration_s,
        "warmup_s": run.warmup_s,
        "database": f"{db.server_version} ({db.kind})",
        "load_average_at_start": run.load_at_start,
        "load_average_at_end": os.getloadavg()[0],
        "notes": run.notes,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    size = SIZES[args.size]
    run = _Run(args, size)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path: Path = args.json or ROOT / "bench" / "results" / f"bench-{stamp}.json"
    skipped = Section(skipped="not asked for (--parts)")
    summary_parts: dict[str, Any] = {p: skipped for p in PARTS}
    profiles = None
    with tempfile.TemporaryDirectory(prefix="faceplate-bench-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        _say("preparing the database")
        db = stack.enter_context(pg.bench_database(args.database_url, workdir))
        data_dir = workdir / "data"
        seeded = _run_async(
            seed(db.url, data_dir, conversations=size.conversations, messages=size.messages)
        )
        if run.load_cpu is not None:  # the bench's own clients share the load generator's CPU
            os.sched_setaffinity(0, {run.load_cpu})
        model_url = stack.enter_context(model_server(cpu=run.load_cpu, logdir=workdir))
        env = bench_env(db.url, data_dir, model_url)
        ws_parts = run.parts & {"ws", "writes", "idle"}
        apps = {"service": args.service_app}
        if "rest" in run.parts:
            apps["floor"] = "bench.floor:app"
            if not args.no_serve:
                apps[rest.LOGGED] = "serve"
        if ws_parts:
            apps["ws-floor"] = "bench.wsfloor:app"
        extra_env: dict[str, dict[str, str]] = {}
        if args.metrics:
            apps["service-off"] = args.service_app
            extra_env = {"service": {"FACEPLATE_METRICS": "true"}}
        _say(f"starting {', '.join(apps)}")
        servers = run.start(stack, apps, env, workdir, extra_env)
        service = servers["service"]
        if "rest" in run.parts:
            summary_parts["rest"], profiles = _rest(run, seeded, servers, db.url)
            # Their CPU is not needed any more, nor their database connections (the workers
            # part needs room for three pools).
            servers[rest.FLOOR].stop()
            if rest.LOGGED in servers:
                servers[rest.LOGGED].stop()
        if args.metrics:
            metrics = _metrics(run, db.url, seeded, service, servers["service-off"])
            servers["service-off"].stop()
        if "workers" in run.parts:
            summary_parts["workers"] = _workers(run, seeded, env, db.url, workdir)
        if "first" in run.parts:
            summary_parts["first"] = _run_async(_first(run, seeded, service, stack, workdir))
        if ws_parts:
            reason = _run_async(probe(_ws_url(service)(seeded.conversation_id), seeded.token))
            if reason is not None:
                message = f"WebSocket route /v1/conversations/{{id}}/ws not usable: {reason}"
                _say(message)
                for part in ws_parts:
                    summary_parts[part] = Section(skipped=message)
            else:
                ws_floor = servers["ws-floor"]
                if "ws" in ws_parts:
                    summary_parts["ws"] = _run_async(_relay(run, db.url, seeded, service, ws_floor))
                if "idle" in ws_parts:
                    summary_parts["idle"] = _run_async(_idle(run, seeded, [service, ws_floor]))
                if "writes" in ws_parts:
                    summary_parts["writes"] = _run_async(_writes(run, db.url, seeded, service))
        summary = Summary(meta=_meta(run, db, args.size), profile=profiles, **summary_parts)
        if args.metrics:
            summary.metrics = metrics
    print(render(summary))
    write_json(summary, json_path)
    print(f"\nJSON summary: {json_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
