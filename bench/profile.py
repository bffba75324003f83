"""Sampling the service under load with py-spy (`uv run --group bench`), summarized."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

_FRAME: Final = re.compile(r"^(?P<func>.*) \((?P<file>[^():]+)(?::\d+)?\)$")
_THIRD_PARTY: Final = frozenset(
    (
        "starlette",
        "uvicorn",
        "asyncpg",
        "msgspec",
        "jwt",
        "httptools",
        "uvloop",
        "websockets",
        "httpx",
        "httpcore",
        "anyio",
        "uuid6",
        "cryptography",
        "click",
    )
)
# Functions worth an inclusive share: the code this project writes or chooses to call.
_APPLICATION: Final = frozenset(("faceplate", "bench", "starlette"))


def py_spy() -> str | None:
    """The py-spy executable of this environment, if installed."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _package(file: str) -> str:
    top = file.split("/", 1)[0].removesuffix(".py")
    if top in _APPLICATION or top in _THIRD_PARTY:
        return top
    return "python (stdlib, event loop)"


def _name(frame: str) -> tuple[str, str]:
    found = _FRAME.match(frame)
    if found is None:
        return frame, "other"
    file = found["file"]
    short = "/".join(Path(file).parts[-2:])
    return f"{found['func']} ({short})", _package(file)


def summarize(collapsed: str, top: int = 25) -> dict[str, Any]:
    """Self sample shares per function and per package, and inclusive shares of the
    application's functions (faceplate, bench, starlette). Samples are the non-idle ones: a
    share is of the CPU time the process spent, not of wall time. With uvloop a coroutine's
    stack starts at its event-loop callback, and time in C (the loop, asyncpg's protocol) is
    charged to the Python frame that called it."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_name(f) for f in stack.split(";")]
        if not frames:
            continue
        total += count
        leaf, package = frames[-1]
        own[leaf] += count
        packages[package] += count
        for name in {f for f, p in frames if p in _APPLICATION}:
            inclusive[name] += count

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in counter.most_common(top)]

    return {
        "samples": total,
        "self_pct": share(own) if total else [],
        "inclusive_pct": share(inclusive) if total else [],
        "package_self_pct": share(packages) if total else [],
    }


def record(pid: int, seconds: float, out: Path, cpu: int | None, load: Callable[[], Any]) -> str:
    """Sample `pid` for `seconds` while `load()` runs; return the collapsed stacks."""
    spy = py_spy()
    if spy is None:
        raise SystemExit("bench: --profile needs py-spy: uv run --group bench python -m bench")
    command = [spy, "record", "--pid", str(pid), "--duration", str(math.ceil(seconds))]
    command += ["--rate", "200", "--format", "raw", "--nonblocking", "--output", str(out)]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    spy_process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        load()
    finally:
        _, err = spy_process.communicate(timeout=seconds + 60)
    if spy_process.returncode != 0:
        raise RuntimeError(f"py-spy failed: {err.decode(errors='replace')[-1000:]}")
    return out.read_text(encoding="utf-8")
