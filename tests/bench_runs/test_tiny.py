"""The bench harness end to end at a tiny size, so it cannot rot; no timing is asserted. Each
end-to-end run is a file of its own, so that they run on different workers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec

from tests.bench_runs.common import ROOT, ROUTES


def test_bench_runs_end_to_end_at_tiny_size(pg_server_url: str, tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    command = [sys.executable, "-m", "bench", "--size", "tiny", "--loadgen", "python"]
    command += ["--database-url", pg_server_url, "--duration", "1", "--warmup", "0.1"]
    command += ["--parts", "rest,first,ws,writes,idle", "--json", str(out)]
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
    assert summary["workers"]["skipped"]  # its own test, tests/bench_runs/test_workers.py
    for part in ("ws", "writes", "idle"):
        assert summary[part], part  # measured, or skipped with a reason
    if isinstance(summary["ws"], list):
        assert {w["mode"] for w in summary["ws"]} == {"burst", "paced"}
        assert all(w["deltas_ratio"] > 0 for w in summary["ws"])
        assert summary["writes"]["burst"]["statements"] > 0
        assert summary["idle"][0]["sockets"] == 20
