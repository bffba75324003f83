"""The bench harness end to end at a tiny size, so it cannot rot; no timing is asserted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

from bench.loadgen import parse_wrk
from bench.pgcpu import PgCpu, named
from bench.servers import process_tree, tree_cpu_s

ROOT = Path(__file__).resolve().parent.parent
ROUTES = {
    "GET /v1/conversations/{id}/messages",
    "GET /v1/conversations?limit=50",
    "GET /v1/conversations/{id}",
    "POST /v1/conversations",
    "GET /v1/me",
}

WRK_OUTPUT = """\
Running 1s test @ http://127.0.0.1:8000/v1/me
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.01ms    1.20ms  20.00ms   90.00%
  Latency Distribution
     50%    4.80ms
     75%    5.50ms
     90%    6.10ms
     99%   12.30ms
  6400 requests in 1.00s, 1.50MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   6400.00
Transfer/sec:      1.50MB
"""


def test_bench_runs_end_to_end_at_tiny_size(pg_server_url: str, tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    command = [sys.executable, "-m", "bench", "--size", "tiny", "--loadgen", "python"]
    command += ["--database-url", pg_server_url, "--duration", "1", "--warmup", "0.1"]
    command += ["--json", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stderr[-4000:]
    summary: dict[str, Any] = msgspec.json.decode(out.read_bytes())
    assert {r["route"] for r in summary["rest"]} == ROUTES
    for route in summary["rest"]:
        assert route["route"] in done.stdout
        assert route["rps_ratio"] > 0
        assert route["log_ratio"] > 0 and route["log_cost"] > 0
        assert route["p99_ratio"] > 0
        assert route["cpu_ratio"] > 0
        for side in ("service", "serve", "floor"):
            assert route[side]["runs"][0]["non_2xx"] == 0
            assert route[side]["cpu_us"] > 0
    # The database runs on this machine: its backends' CPU is seen, per server.
    assert all(r["floor"]["pg_cpu_us"] > 0 for r in summary["rest"] if r["route"] != "GET /v1/me")
    assert summary["meta"]["generator"].startswith("bench.pyload")
    cases = summary["first"]["cases"]
    assert [(c["servers"], c["where"]) for c in cases] == [
        (0, "-"),
        (2, "local"),
        (2, "100 ms away"),
    ]
    assert all(c["turns"] == 2 and c["median_ms"] > 0 for c in cases)
    assert cases[2]["cold_ms"] > 100  # opening sessions 100 ms away takes round trips
    assert "First token" in done.stdout
    for part in ("ws", "writes", "idle"):
        assert summary[part], part  # measured, or skipped with a reason
    if isinstance(summary["ws"], list):
        assert {w["mode"] for w in summary["ws"]} == {"burst", "paced"}
        assert all(w["deltas_ratio"] > 0 for w in summary["ws"])
        assert summary["writes"]["burst"]["statements"] > 0
        assert summary["idle"][0]["sockets"] == 20
    workers = summary["workers"]
    assert workers["cpus"] == len(os.sched_getaffinity(0))
    assert {r["route"] for r in workers["routes"]} == ROUTES
    for route in workers["routes"]:
        assert route["rps_ratio"] > 0
        for side, count in (("one", 1), ("two", 2)):
            measured = route[side]
            assert measured["workers"] == count
            assert measured["rps"] > 0 and measured["runs"][0]["non_2xx"] == 0
            assert measured["cpu_us"] > 0 and measured["load_cpu_us"] > 0
            assert measured["total_cpu_us"] >= measured["cpu_us"] + measured["load_cpu_us"]
        # The supervisor and its two workers (and multiprocessing's resource tracker).
        assert route["one"]["processes"] == 1 and route["two"]["processes"] >= 3
    assert all(
        r[side]["pg_cpu_us"] > 0
        for r in workers["routes"]
        if r["route"] != "GET /v1/me"
        for side in ("one", "two")
    )
    assert "Workers: `faceplate serve --workers 1` vs `--workers 2`" in done.stdout


def test_wrk_latency_output_is_read_without_the_done_hook() -> None:
    result = parse_wrk(WRK_OUTPUT)

    assert (result.requests, result.rps, result.non_2xx) == (6400, 6400.0, 3)
    assert (result.p50_ms, result.p99_ms) == (4.8, 12.3)


def test_wrk_done_hook_line_wins() -> None:
    line = (
        'BENCH_RESULT {"requests":10,"duration_us":2000000,"p50_us":1500.0,"p99_us":9000.0,'
        '"connect":0,"read":1,"write":0,"status":2,"timeout":0}'
    )
    result = parse_wrk(WRK_OUTPUT + line + "\n")

    assert (result.requests, result.rps, result.errors, result.non_2xx) == (10, 5.0, 1, 2)
    assert (result.p50_ms, result.p99_ms) == (1.5, 9.0)


def test_bench_measures_what_the_metrics_cost(pg_server_url: str, tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    command = [sys.executable, "-m", "bench", "--size", "tiny", "--loadgen", "python"]
    command += ["--database-url", pg_server_url, "--duration", "0.3", "--warmup", "0.1"]
    command += ["--parts", "rest", "--routes", "get,me", "--metrics", "--json", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stderr[-4000:]
    summary: dict[str, Any] = msgspec.json.decode(out.read_bytes())
    cost = summary["metrics"]
    assert {r["route"] for r in cost["rest"]} == {"GET /v1/conversations/{id}", "GET /v1/me"}
    assert all(r["rps_ratio"] > 0 and r["on_cpu_us"] > 0 for r in cost["rest"])
    assert {w["mode"] for w in cost["relay"]} == {"burst", "paced"}
    assert all(w["deltas_ratio"] > 0 for w in cost["relay"])
    # The 'on' service really counted: every request it served, and the relay's turns.
    assert cost["counted_requests"] > 100
    assert cost["counted_turns"] >= 2 * 3
    assert "Metrics cost" in done.stdout


def test_a_servers_connections_are_named() -> None:
    url = "postgresql://u:p@/db?host=/tmp/x&application_name=old"

    assert named(url, "bench-floor") == (
        "postgresql://u:p@/db?host=%2Ftmp%2Fx&application_name=bench-floor"
    )


def test_postgres_cpu_counts_backends_that_began_meanwhile() -> None:
    assert PgCpu.used({1: 2.0, 2: 1.0}, {1: 2.5, 3: 0.25}) == 0.75
    assert PgCpu.used({1: 2.0}, {}) is None


_BURN = """
import time
end = time.process_time() + 0.3
while time.process_time() < end:
    pass
time.sleep(60)
"""


def test_a_process_trees_cpu_counts_its_descendants() -> None:
    """A supervisor's workers are its children: their CPU is the server's too."""
    spawn = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {_BURN!r}])"
    parent = subprocess.Popen([sys.executable, "-c", spawn + "; time.sleep(60)"])
    try:
        deadline = time.monotonic() + 30
        while True:
            used = tree_cpu_s(parent.pid)
            children = [pid for pid in used if pid != parent.pid]
            if children and used[children[0]] >= 0.3:
                break
            assert time.monotonic() < deadline, used
            time.sleep(0.05)
        assert process_tree(parent.pid) == [parent.pid, *children]
        assert sum(used.values()) >= 0.3
    finally:
        for pid in process_tree(parent.pid)[1:]:
            os.kill(pid, signal.SIGKILL)
        parent.kill()
        parent.wait()


def test_bench_cluster_runs_end_to_end_at_tiny_size(pg_server_url: str, tmp_path: Path) -> None:
    """Two instances and the previous design (bench.previous), every line of the table."""
    out = tmp_path / "cluster.json"
    command = [sys.executable, "-m", "bench.cluster", "--database-url", pg_server_url]
    command += ["--deltas", "100", "--rounds", "1", "--turns", "2", "--rate", "50"]
    command += ["--paced-deltas", "10", "--json", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=400)

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    summary: dict[str, Any] = msgspec.json.decode(out.read_bytes())
    for mode in ("same", "cross", "previous"):
        (run,) = summary[mode]
        assert (run["mode"], run["deltas"], run["failures"]) == (mode, 100, []), run
    assert summary["same_over_previous"] > 0 and summary["cross_over_same"] > 0
    assert summary["paced"]["deltas"] == 2 * 10 and summary["paced"]["failures"] == []
    watched, alone = summary["counts"]
    assert watched["notifications"] > 0  # a watcher on B: frames cross instances
    assert alone["notifications"] == 0  # nobody elsewhere: nothing is sent
    assert "same ÷ previous" in done.stdout
