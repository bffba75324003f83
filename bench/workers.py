"""`faceplate serve --workers 2` against `--workers 1`: REST req/s of each, alternated round by
round in one run, and the CPU each request costs the server's whole process tree, its
PostgreSQL backends and the load generator. Nothing is pinned: the servers, the load
generator and PostgreSQL share every CPU of the machine, so this is reported as measured, with
no target."""

from __future__ import annotations

import contextlib
import os
import resource
import statistics
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Final, Literal

import msgspec
import psycopg

from bench.loadgen import LoadResult, LoadSpec, run_load
from bench.pgcpu import PgCpu
from bench.rest import Route, compare_responses, load_spec
from bench.servers import Server, serve_server

WORKERS: Final = (1, 2)
ACCESS_LOG: Final = "on (`faceplate serve`'s default, to a file)"
# Connections a new client may still open: what the server allows it, less those open.
_ROOM: Final = """
SELECT current_setting('max_connections')::int
     - CASE WHEN r.rolsuper THEN 0
            ELSE current_setting('superuser_reserved_connections')::int END
     - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')
  FROM pg_roles AS r WHERE r.rolname = current_user
"""


class WorkersSide(msgspec.Struct, frozen=True, kw_only=True):
    workers: int
    rps: float
    p50_ms: float
    p99_ms: float
    rps_spread: float  # (max - min) / median of the runs' req/s
    cpu_us: float  # the server's process tree (supervisor + every worker) per request
    pg_cpu_us: float | None  # its PostgreSQL backends' per request (None: not seen)
    load_cpu_us: float  # the load generator's per request
    total_cpu_us: float  # the three added: what one request costs the machine
    busiest_share: float  # the largest share of the tree's CPU one of its processes used
    processes: int  # processes in the server's tree (supervisor, workers, helpers)
    runs: list[LoadResult]
    cpu_us_runs: list[float]
    pg_cpu_us_runs: list[float]
    load_cpu_us_runs: list[float]


class WorkersRoute(msgspec.Struct, frozen=True, kw_only=True):
    route: str
    one: WorkersSide
    two: WorkersSide
    rps_ratio: float  # 2 workers' req/s / 1 worker's
    cpu_ratio: float  # 2 workers' server CPU per request / 1 worker's


class WorkersResult(msgspec.Struct, frozen=True, kw_only=True):
    cpus: int  # CPUs the bench may use, every one shared by servers, load and PostgreSQL
    generator: str
    access_log: str
    connections: int
    rounds: int
    duration_s: float
    routes: list[WorkersRoute]
    note: str


class _Run(msgspec.Struct, frozen=True, kw_only=True):
    result: LoadResult
    cpu_us: float
    pg_cpu_us: float | None
    load_cpu_us: float
    busiest_share: float
    processes: int


@contextlib.contextmanager
def unpinned(cpus: set[int]) -> Iterator[None]:
    """This process (and so what it starts) on every CPU in `cpus` until the block ends."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def room_problem(db_url: str, env: Mapping[str, str]) -> str | None:
    """Why the database cannot take both servers at full pools (each worker holds its pool
    and a listener), or None. Under load each pool grows to its maximum, and a worker refused
    a connection answers 503: that would be measured as throughput."""
    from faceplate.settings import load_settings

    per_worker = load_settings({**os.environ, **env}).db_pool_max + 1
    needed = sum(n * per_worker for n in WORKERS)
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(_ROOM).fetchone()
    room = int(row[0]) + 1 if row else 0  # this connection's place is free again after it
    if room >= needed:
        return None
    return (
        f"1 and 2 workers hold up to {needed} database connections ({per_worker} a worker: "
        f"its pool and listener), the server has room for {room} more; raise its "
        "max_connections or lower FACEPLATE_DB_POOL_MAX"
    )


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured_load(spec: LoadSpec, generator: Literal["wrk", "python"]) -> tuple[LoadResult, float]:
    """One unpinned load run and the CPU seconds the generator used. Both generators are a
    child process this one waits for (wrk, or `python -m bench.pyload`), so their CPU is what
    RUSAGE_CHILDREN gains over the run; nothing else of the bench's is reaped meanwhile."""
    before = _children_cpu_s()
    result = run_load(spec, generator, None)
    return result, _children_cpu_s() - before


def _per_request(seconds: float | None, requests: int) -> float | None:
    return 1e6 * seconds / requests if seconds is not None and requests else None


def _one_run(
    spec: LoadSpec, generator: Literal["wrk", "python"], server: Server, pg: PgCpu
) -> _Run:
    pg_before = pg.snapshot(server.application_name)
    tree_before = server.tree_cpu_s()
    result, load_s = measured_load(spec, generator)
    tree_after = server.tree_cpu_s()
    pg_used = PgCpu.used(pg_before, pg.snapshot(server.application_name))
    # Summed over the tree, not pid by pid: a worker reaped meanwhile is in its parent's cutime.
    used = sum(tree_after.values()) - sum(tree_before.values())
    each = [cpu - tree_before.get(pid, 0.0) for pid, cpu in tree_after.items()]
    done = result.requests
    return _Run(
        result=result,
        cpu_us=_per_request(used, done) or 0.0,
        pg_cpu_us=_per_request(pg_used, done),
        load_cpu_us=_per_request(load_s, done) or 0.0,
        busiest_share=max(each) / used if used > 0 else 0.0,
        processes=len(tree_after),
    )


def _side(workers: int, runs: Sequence[_Run]) -> WorkersSide:
    rps = statistics.median(r.result.rps for r in runs)
    pg = [r.pg_cpu_us for r in runs if r.pg_cpu_us is not None]
    cpu_us = statistics.median(r.cpu_us for r in runs)
    pg_cpu_us = statistics.median(pg) if pg else None
    load_cpu_us = statistics.median(r.load_cpu_us for r in runs)
    return WorkersSide(
        workers=workers,
        rps=rps,
        p50_ms=statistics.median(r.result.p50_ms for r in runs),
        p99_ms=statistics.median(r.result.p99_ms for r in runs),
        rps_spread=(max(r.result.rps for r in runs) - min(r.result.rps for r in runs)) / rps
        if rps
        else 0.0,
        cpu_us=cpu_us,
        pg_cpu_us=pg_cpu_us,
        load_cpu_us=load_cpu_us,
        total_cpu_us=cpu_us + (pg_cpu_us or 0.0) + load_cpu_us,
        busiest_share=statistics.median(r.busiest_share for r in runs),
        processes=max(r.processes for r in runs),
        runs=[r.result for r in runs],
        cpu_us_runs=[r.cpu_us for r in runs],
        pg_cpu_us_runs=pg,
        load_cpu_us_runs=[r.load_cpu_us for r in runs],
    )


def measure(
    routes: Sequence[Route],
    servers: Mapping[int, Server],
    *,
    token: str,
    connections: int,
    duration_s: float,
    warmup_s: float,
    rounds: int,
    generator: Literal["wrk", "python"],
    pg: PgCpu,
    progress: Callable[[str], None],
) -> list[WorkersRoute]:
    """Medians over `rounds` rounds of every route on each server (by worker count), the order
    reversed every other round, after a warm-up of each route on each."""

    def spec(route: Route, server: Server, seconds: float) -> LoadSpec:
        return load_spec(route, server, token=token, connections=connections, seconds=seconds)

    order = sorted(servers)
    if warmup_s > 0:
        progress("workers: warming up")
        for route in routes:
            for workers in order:
                run_load(spec(route, servers[workers], warmup_s), generator, None)
    runs: dict[tuple[str, int], list[_Run]] = {}
    for n in range(rounds):
        for route in routes:
            for workers in order if n % 2 == 0 else order[::-1]:
                run = _one_run(
                    spec(route, servers[workers], duration_s), generator, servers[workers], pg
                )
                runs.setdefault((route.name, workers), []).append(run)
                progress(
                    f"workers: round {n + 1}/{rounds} {workers}w {route.name:40} "
                    f"{run.result.rps:9.0f} req/s  p99 {run.result.p99_ms:7.2f} ms  CPU/req "
                    f"server {run.cpu_us:6.0f} us"
                    + (f" PG {run.pg_cpu_us:5.0f}" if run.pg_cpu_us is not None else "")
                    + f" load {run.load_cpu_us:5.0f}"
                    + (f"  ({run.result.non_2xx} non-2xx)" if run.result.non_2xx else "")
                )
    results = []
    for route in routes:
        one, two = (_side(w, runs[(route.name, w)]) for w in WORKERS)
        results.append(
            WorkersRoute(
                route=route.name,
                one=one,
                two=two,
                rps_ratio=two.rps / one.rps if one.rps else 0.0,
                cpu_ratio=two.cpu_us / one.cpu_us if one.cpu_us else 0.0,
            )
        )
    return results


def workers_part(
    routes: Sequence[Route],
    *,
    env: Mapping[str, str],
    db_url: str,
    logdir: Path,
    cpus: set[int],
    token: str,
    connections: int,
    duration_s: float,
    warmup_s: float,
    rounds: int,
    generator: Literal["wrk", "python"],
    generator_name: str,
    progress: Callable[[str], None],
) -> WorkersResult:
    """Start `faceplate serve --workers 1` and `--workers 2` unpinned on every CPU of `cpus`,
    check they answer alike, measure them, and stop them."""
    with unpinned(cpus), ExitStack() as stack:
        servers = {
            n: stack.enter_context(
                serve_server(f"serve-{n}w", env=env, cpu=None, logdir=logdir, workers=n)
            )
            for n in WORKERS
        }
        for n, server in servers.items():
            server.wait_ready("/readyz")
            server.wait_started(n)
        problems = compare_responses(list(servers.values()), token, routes)
        if problems:
            raise RuntimeError("1 and 2 workers answer differently:\n  " + "\n  ".join(problems))
        pg = stack.enter_context(contextlib.closing(PgCpu(db_url)))
        measured = measure(
            routes,
            servers,
            token=token,
            connections=connections,
            duration_s=duration_s,
            warmup_s=warmup_s,
            rounds=rounds,
            generator=generator,
            pg=pg,
            progress=progress,
        )
    return WorkersResult(
        cpus=len(cpus),
        generator=generator_name,
        access_log=ACCESS_LOG,
        connections=connections,
        rounds=rounds,
        duration_s=duration_s,
        routes=measured,
        note="no target: servers, load generator and PostgreSQL share every CPU, unpinned; "
        "read as it is, with the CPU each request costs each of them",
    )
