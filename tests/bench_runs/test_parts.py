"""The bench's parts that need no servers: wrk's output, connection names, CPU counts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from bench.loadgen import parse_wrk
from bench.pgcpu import PgCpu, named
from bench.servers import process_tree, tree_cpu_s

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


def test_a_servers_connections_are_named() -> None:
    url = "postgresql://u:p@/db?host=/tmp/x&application_name=old"

    assert named(url, "bench-floor") == (
        "postgresql://u:p@/db?host=%2Ftmp%2Fx&application_name=bench-floor"
    )


def test_postgres_cpu_counts_backends_that_began_meanwhile() -> None:
    assert PgCpu.used({1: 2.0, 2: 1.0}, {1: 2.5, 3: 0.25}) == 0.75
    assert PgCpu.used({1: 2.0}, {}) is None


# Burns more than the test waits for: /proc counts whole clock ticks, and read 0.29 s for a
# child whose own clock said 0.3 s, which then slept and never reached the bound.
_BURN = """
import time
end = time.process_time() + 0.5
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
