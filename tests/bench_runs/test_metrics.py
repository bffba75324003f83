"""The bench's metrics cost end to end at a tiny size; no timing is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec

from tests.bench_runs.common import ROOT


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
