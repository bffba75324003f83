"""Load generation: wrk (Debian's package) when installed, else bench.pyload; both pinned."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Literal

import msgspec

GeneratorChoice = Literal["auto", "wrk", "python"]

_MARK: Final = "BENCH_RESULT "
# wrk's `done` hook prints exact numbers; the --latency text is the fallback.
_LUA_DONE: Final = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"p50_us":%.1f,"p99_us":%.1f,'
    .. '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    "BENCH_RESULT ", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""
_UNITS: Final = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


class LoadSpec(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    port: int
    method: str
    path: str
    token: str
    connections: int
    duration_s: float
    body: str | None = None


class LoadResult(msgspec.Struct, frozen=True, kw_only=True):
    generator: str
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int = 0
    non_2xx: int = 0


class _WrkDone(msgspec.Struct, frozen=True):
    requests: int
    duration_us: int
    p50_us: float
    p99_us: float
    connect: int
    read: int
    write: int
    status: int
    timeout: int


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values sorted ascending; 0 when there are none."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(
    generator: str, latencies_s: list[float], elapsed_s: float, *, errors: int, non_2xx: int
) -> LoadResult:
    latencies_s.sort()
    return LoadResult(
        generator=generator,
        requests=len(latencies_s),
        duration_s=elapsed_s,
        rps=len(latencies_s) / elapsed_s if elapsed_s > 0 else 0.0,
        p50_ms=percentile(latencies_s, 50) * 1e3,
        p99_ms=percentile(latencies_s, 99) * 1e3,
        errors=errors,
        non_2xx=non_2xx,
    )


def pinned(cpu: int | None) -> list[str]:
    """The command prefix that pins a process to `cpu` (none when pinning is off)."""
    return [] if cpu is None else ["taskset", "-c", str(cpu)]


def wrk_version() -> str | None:
    path = shutil.which("wrk")
    if path is None:
        return None
    run = subprocess.run([path, "-v"], capture_output=True, text=True, check=False)
    words = (run.stdout + run.stderr).split()
    return " ".join(words[:2]) if words else "wrk"


def choose(choice: GeneratorChoice) -> Literal["wrk", "python"]:
    if choice == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if choice == "wrk" and shutil.which("wrk") is None:
        raise SystemExit(
            "bench: --loadgen wrk asked for, but wrk is not installed (apt install wrk)"
        )
    return choice


def run_load(spec: LoadSpec, generator: Literal["wrk", "python"], cpu: int | None) -> LoadResult:
    """One measured run of `spec` by `generator`, pinned to `cpu`."""
    if generator == "wrk":
        return _run_wrk(spec, cpu)
    command = [*pinned(cpu), sys.executable, "-m", "bench.pyload"]
    command.append(msgspec.json.encode(spec).decode())
    timeout = spec.duration_s + 60
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"bench.pyload failed: {done.stderr.strip()[-2000:]}")
    return msgspec.json.decode(done.stdout.strip().splitlines()[-1], type=LoadResult)


def _lua(spec: LoadSpec) -> str:
    lines = [
        f'wrk.method = "{spec.method}"',
        f'wrk.headers["Authorization"] = [==[Bearer {spec.token}]==]',
    ]
    if spec.body is not None:
        lines += [
            'wrk.headers["Content-Type"] = "application/json"',
            f"wrk.body = [==[{spec.body}]==]",
        ]
    return "\n".join(lines) + "\n" + _LUA_DONE


def _run_wrk(spec: LoadSpec, cpu: int | None) -> LoadResult:
    seconds = max(1, round(spec.duration_s))  # wrk takes whole seconds
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "request.lua"
        script.write_text(_lua(spec), encoding="utf-8")
        command = [
            *pinned(cpu),
            "wrk",
            "-t1",
            f"-c{spec.connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(script),
            f"http://{spec.host}:{spec.port}{spec.path}",
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=seconds + 60
        )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr.strip()[-2000:]}")
    return parse_wrk(done.stdout)


def parse_wrk(output: str) -> LoadResult:
    """A LoadResult from wrk's output: the `done` hook's line, else the --latency text."""
    for line in output.splitlines():
        if line.startswith(_MARK):
            d = msgspec.json.decode(line[len(_MARK) :], type=_WrkDone)
            duration_s = d.duration_us / 1e6
            return LoadResult(
                generator="wrk",
                requests=d.requests,
                duration_s=duration_s,
                rps=d.requests / duration_s if duration_s > 0 else 0.0,
                p50_ms=d.p50_us / 1e3,
                p99_ms=d.p99_us / 1e3,
                errors=d.connect + d.read + d.write + d.timeout,
                non_2xx=d.status,
            )
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)", output, re.MULTILINE)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if not (rps and total and p50 and p99):
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    return LoadResult(
        generator="wrk",
        requests=int(total[1]),
        duration_s=float(total[2]) * _UNITS[total[3]] / 1e3,
        rps=float(rps[1]),
        p50_ms=float(p50[1]) * _UNITS[p50[2]],
        p99_ms=float(p99[1]) * _UNITS[p99[2]],
        errors=sum(int(n) for n in errors.groups()) if errors else 0,
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
    )
