"""Helpers of the stdio tests: servers files, runtimes, and looking for live server processes."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest

from faceplate.mcp_client.stdio.runtime import StdioRuntime
from faceplate.mcp_client.stdio.sandbox import Sandbox, find_sandbox
from faceplate.mcp_client.stdio.servers import StdioServers, load_servers
from faceplate.structs import StdioConfig

HERE = Path(__file__).resolve().parent
PROBE = HERE / "stdio_probe.py"
TOOLBOX_SERVER = HERE / "stdio_server.py"
# The toolbox server imports tests.mcp_client.toolbox: a sandbox must show the tests directory.
TESTS_DIR = HERE.parent


def entry(script: Path, env: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
    """A servers-file entry running `script` with this interpreter."""
    shown = [str(script)] if script == PROBE else [str(TESTS_DIR)]
    base = {"command": sys.executable, "args": [str(script)], "env": list(env), "paths": shown}
    return {**base, **extra}


def config(script: Path, env: Mapping[str, str] | None = None) -> StdioConfig:
    return StdioConfig(command=sys.executable, args=[str(script)], env=dict(env or {}))


def write_servers(path: Path, entries: Sequence[Mapping[str, Any]]) -> Path:
    path.write_bytes(msgspec.json.encode(list(entries)))
    return path


def runtime(
    tmp_path: Path,
    entries: Sequence[Mapping[str, Any]],
    *,
    sandbox: str = "none",
    environ: Mapping[str, str] | None = None,
    max_line_bytes: int | None = None,
) -> StdioRuntime:
    """A runtime over a real servers file, its server directories under tmp_path/work."""
    servers = load_servers(write_servers(tmp_path / "servers.json", entries))
    (tmp_path / "work").mkdir(exist_ok=True)
    extra: dict[str, Any] = {} if max_line_bytes is None else {"max_line_bytes": max_line_bytes}
    return StdioRuntime(
        servers,
        find_sandbox(sandbox),
        data_dir=tmp_path / "data",
        workdir_root=tmp_path / "work",
        environ=environ,
        **extra,
    )


@functools.cache
def bwrap_problem() -> str | None:
    """Why bubblewrap cannot sandbox here, or None when it can."""
    sandbox: Sandbox = find_sandbox("auto")
    if sandbox.kind != "bwrap":
        return "bwrap is not installed"
    probe = StdioRuntime(StdioServers([]), sandbox, data_dir=Path("/nonexistent")).probe()
    return None if probe is None else f"bwrap does not work here: {probe}"


requires_bwrap = pytest.mark.skipif(bwrap_problem() is not None, reason=str(bwrap_problem()))


def processes_with(marker: str) -> list[int]:
    """Live processes whose environment holds `marker` (as NAME=value)."""
    needle = marker.encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as file:
                environ = file.read().split(b"\0")
        except OSError:
            continue
        if needle in environ:
            found.append(int(name))
    return found
