"""The processes under test: uvicorn serving one app, one worker, access log off, pinned; or
`faceplate serve` as a user runs it, its default access log on (one worker, or several under
uvicorn's supervisor). Each names its database connections (`application_name`) so that
PostgreSQL's CPU for it can be told apart."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Final

import httpx

from bench.loadgen import pinned
from bench.pgcpu import named

ROOT: Final = Path(__file__).resolve().parent.parent
HOST: Final = "127.0.0.1"
_CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def loop_and_http() -> tuple[str, str]:
    """The fastest event loop and HTTP parser installed; every server here gets the same."""
    return (
        "uvloop" if _importable("uvloop") else "asyncio",
        "httptools" if _importable("httptools") else "h11",
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """A uvicorn process; `pid` is the Python process itself (taskset execs it)."""

    def __init__(self, name: str, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.name = name
        self.application_name = application_name(name)
        self.process = process
        self.port = port
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def rss_kib(self) -> int:
        """Resident set size now, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for {self.name}")

    def cpu_s(self) -> float:
        """CPU time (user + system) the process has used so far, from /proc."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime

    def tree_cpu_s(self) -> dict[int, float]:
        """CPU time so far of the process and of each live descendant (a supervisor's workers),
        by pid; see `tree_cpu_s`."""
        return tree_cpu_s(self.pid)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, path: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(self.base_url + path).status_code == 200:
                        return
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout_s:.0f} s:\n{self.log_tail()}")

    def wait_started(self, workers: int, timeout_s: float = 60.0) -> None:
        """Wait until `workers` processes have logged uvicorn's startup line: one answering
        /readyz says nothing of the others, which would miss the connections opened first."""
        deadline = time.monotonic() + timeout_s
        while self.log.read_bytes().count(b"Application startup complete") < workers:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name}: not {workers} workers started after {timeout_s:.0f} s:\n"
                    + self.log_tail()
                )
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def process_tree(pid: int) -> list[int]:
    """`pid` and every live descendant, from /proc/<pid>/task/<tid>/children of each thread."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):  # the thread, or the process, just ended
                todo += (int(child) for child in children.read_text().split())
    return tree


def tree_cpu_s(pid: int) -> dict[int, float]:
    """CPU time (user + system) of `pid` and each live descendant, by pid, from /proc. Each
    counts its reaped children's too (cutime + cstime), so that a worker that ends and is
    reaped between two readings still counts, in its parent's; a process that ends between
    the listing and its reading is left out."""
    used = {}
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[member] = sum(int(f) for f in fields[11:15]) / _CLOCK_TICKS  # u, s, cu, cs
    return used


def bench_env(db_url: str, data_dir: Path, model_url: str) -> dict[str, str]:
    """The service's settings in every bench: dev sign-in, the scripted model, and the one
    bench user's limits set far past what it sends, so that the limiters run (and cost what they
    cost) without refusing anything."""
    return {
        "FACEPLATE_DATABASE_URL": db_url,
        "FACEPLATE_DATA_DIR": str(data_dir),
        "FACEPLATE_AUTH": "dev",
        "FACEPLATE_LLM": "openai",
        "FACEPLATE_LLM_BASE_URL": model_url,
        "FACEPLATE_LLM_API_KEY": "bench",
        "FACEPLATE_LLM_MODEL": "bench",
        "FACEPLATE_LIMIT_REQUESTS_PER_MINUTE": "1000000000",
        "FACEPLATE_LIMIT_SOCKETS_PER_USER": "1000000",
        "FACEPLATE_LIMIT_TURNS_PER_USER": "1000000",
        "FACEPLATE_LIMIT_TURNS_PER_MINUTE": "1000000",
    }


def application_name(server: str) -> str:
    return f"bench-{server}"


def _env(name: str, env: Mapping[str, str]) -> dict[str, str]:
    out = {**os.environ, **env}
    if "FACEPLATE_DATABASE_URL" in out:
        out["FACEPLATE_DATABASE_URL"] = named(out["FACEPLATE_DATABASE_URL"], application_name(name))
    return out


@contextlib.contextmanager
def _serving(
    name: str, command: list[str], port: int, env: Mapping[str, str], logdir: Path
) -> Iterator[Server]:
    log = logdir / f"{name}.log"
    out: IO[bytes]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=_env(name, env), stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(name, process, port, log)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def serve_server(
    name: str, *, env: Mapping[str, str], cpu: int | None, logdir: Path, workers: int = 1
) -> Iterator[Server]:
    """`faceplate serve` on a free port, as a user starts it: its logging, its default access
    log (to the log file, as to any file stdout goes to), `workers` workers (more than one:
    uvicorn's supervisor, each worker its child process). The caller waits."""
    port = free_port()
    command = [*pinned(cpu), sys.executable, "-m", "faceplate.cli", "serve"]
    command += ["--host", HOST, "--port", str(port), "--workers", str(workers)]
    with _serving(name, command, port, env, logdir) as server:
        yield server


@contextlib.contextmanager
def uvicorn_server(
    name: str,
    app: str,
    *,
    env: Mapping[str, str],
    cpu: int | None,
    logdir: Path,
    ready_path: str | None,
) -> Iterator[Server]:
    """Serve `app` ("module:attr") until the block ends; waits until `ready_path` answers 200
    (None: the caller waits, so that several servers can start at once)."""
    loop, http = loop_and_http()
    port = free_port()
    command = [
        *pinned(cpu),
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
        "--loop",
        loop,
        "--http",
        http,
        "--ws",
        "auto",
        "--lifespan",
        "on",
    ]
    with _serving(name, command, port, env, logdir) as server:
        if ready_path is not None:
            server.wait_ready(ready_path)
        yield server


@contextlib.contextmanager
def model_server(*, cpu: int | None, logdir: Path) -> Iterator[str]:
    """The scripted model (bench.model) in its own process; yields its base URL."""
    port = free_port()
    log = logdir / "model.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*pinned(cpu), sys.executable, "-m", "bench.model", str(port)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server("model", process, port, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the scripted model did not start:\n{server.log_tail()}")
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://{HOST}:{port}/v1"
    finally:
        server.stop()


@contextlib.contextmanager
def mcp_server(delay_ms: float, *, cpu: int | None, logdir: Path) -> Iterator[str]:
    """bench.mcpserver in its own process, each HTTP request delayed `delay_ms`; yields its
    MCP URL."""
    port = free_port()
    command = [*pinned(cpu), sys.executable, "-m", "bench.mcpserver", str(port), str(delay_ms)]
    with _serving(f"mcp-{delay_ms:g}ms", command, port, {}, logdir) as server:
        deadline = time.monotonic() + 60
        while True:
            if server.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bench MCP server did not start:\n{server.log_tail()}")
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://{HOST}:{port}/mcp"
