"""The bench's workers part end to end at a tiny size; no timing is asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec

from tests.bench_runs.common import ROOT, ROUTES


def test_bench_workers_part_runs_at_tiny_size(pg_server_url: str, tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    command = [sys.executable, "-m", "bench", "--size", "tiny", "--loadgen", "python"]
    command += ["--database-url", pg_server_url, "--duration", "1", "--warmup", "0.1"]
    command += ["--parts", "workers", "--json", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stderr[-4000:]
    summary: dict[str, Any] = msgspec.json.decode(out.read_bytes())
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
