"""bench.cluster end to end at a tiny size; no timing is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec

from tests.bench_runs.common import ROOT


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
