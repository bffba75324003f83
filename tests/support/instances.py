"""Several real `faceplate serve` processes on one database, as a deploy runs them.

    with Instances(database_url, tmp_path, llm) as cluster:
        a, b = cluster.start("a", "b")           # in parallel; each answers /readyz first
        with a.socket(conversation_id, cluster.headers) as ws: ...
        a.kill()                                 # SIGKILL, the whole process group
        c = cluster.start("c")[0]

Every instance shares the data dir (so one dev token and one secret key serve them all), the
scripted model, and gets FACEPLATE_INSTANCE_ID=<name> and a port of its own. Processes run in a
session of their own and die with the test process (PR_SET_PDEATHSIG); `close()` kills what is
left, so no test leaves a server behind. `logs()` gathers every instance's output for a failure
report.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from faceplate.auth.dev import load_or_create_secret, mint_token
from faceplate.secrets import load_or_create_key
from tests.mcp_client.servers import free_port
from tests.support.readiness import wait_ready
from tests.support.scripted_llm import ScriptedLLM

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Instance:
    """One `faceplate serve` process."""

    def __init__(self, name: str, env: dict[str, str], log: Path, args: tuple[str, ...]) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._env = env | {"FACEPLATE_INSTANCE_ID": name}
        self._args = args
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "faceplate.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    *list(self._args),
                ],
                env=self._env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def wait_ready(self, timeout_s: float = 90) -> None:
        assert self.process is not None, f"instance {self.name} was not started"
        what = f"instance {self.name}"
        wait_ready(self.url, self.process, self.log, what=what, timeout_s=timeout_s, poll_s=0.05)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ws_url(self, conversation_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/conversations/{conversation_id}/ws"

    @contextmanager
    def socket(self, conversation_id: str, headers: dict[str, str]) -> Iterator[Socket]:
        """A socket on the conversation, its `ready` frame already read (as `ready`)."""
        with ws_connect(
            self.ws_url(conversation_id), additional_headers=headers, open_timeout=20
        ) as ws:
            sock = Socket(ws)
            sock.ready = sock.next()
            assert sock.ready["type"] == "ready", sock.ready
            yield sock

    def http(self, method: str, path: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kw)

    def kill(self) -> None:
        """SIGKILL, as a crash: the process and any worker it started."""
        self._signal(signal.SIGKILL)
        self.wait()

    def terminate(self) -> None:
        """SIGTERM, as a deploy stops an instance; does not wait."""
        self._signal(signal.SIGTERM)

    def wait(self, timeout_s: float = 90) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout_s)

    def _signal(self, sig: signal.Signals) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    def close(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        # Whatever is left of its process group (workers of a master that already went).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


class Socket:
    """A client socket: frames as dicts, with generous deadlines (a failure, not a timing)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ready: dict[str, Any] = {}
        self.seen: list[dict[str, Any]] = []

    def send(self, frame: dict[str, Any]) -> None:
        self.ws.send(json.dumps(frame))

    def next(self, timeout_s: float = 60) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(self.ws.recv(timeout=timeout_s))
        self.seen.append(frame)
        return frame

    def until(self, kind: str, *, timeout_s: float = 60, **match: Any) -> list[dict[str, Any]]:
        """Frames up to and including the first of type `kind` (matching `match`)."""
        frames: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while True:
            frame = self.next(max(0.1, deadline - time.monotonic()))
            frames.append(frame)
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frames

    def deltas(self, count: int, *, timeout_s: float = 60) -> list[dict[str, Any]]:
        """Frames until `count` text_delta frames were read."""
        frames: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while sum(f["type"] == "text_delta" for f in frames) < count:
            frames.append(self.next(max(0.1, deadline - time.monotonic())))
        return frames

    def closed_with(self, *, timeout_s: float = 60) -> int | None:
        """Read until the server closes the socket; its close code."""
        from websockets.exceptions import ConnectionClosed

        deadline = time.monotonic() + timeout_s
        try:
            while True:
                self.next(max(0.1, deadline - time.monotonic()))
        except ConnectionClosed as closed:
            return None if closed.rcvd is None else closed.rcvd.code


class Instances:
    """Real `faceplate serve` processes on `database_url`; a context manager."""

    def __init__(
        self,
        database_url: str,
        directory: Path,
        llm: ScriptedLLM,
        **settings: str,
    ) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url
        base = {k: v for k, v in os.environ.items() if not k.startswith("FACEPLATE_")}
        self.env = base | {
            "FACEPLATE_DATABASE_URL": database_url,
            "FACEPLATE_DATA_DIR": str(self.data),
            **llm.env("openai"),
            **settings,
        }
        self.instances: dict[str, Instance] = {}
        self._secret = load_or_create_secret(self.data)
        # Created here, once: instances starting at once would race to create it (one reads
        # the file another has just made and not yet written).
        load_or_create_key(self.data)

    def token(self, email: str = "alice@example.com") -> str:
        return mint_token(self._secret, email=email)

    def headers(self, email: str = "alice@example.com") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(email)}"}

    def start(self, *names: str, args: tuple[str, ...] = (), **settings: str) -> list[Instance]:
        """Start instances in parallel (a stopped one of the same name again, on a new port);
        return once every one answers /readyz."""
        started = []
        for name in names:
            old = self.instances.get(name)
            if old is not None:
                old.close()
            log = self.directory / f"{name}.log"
            instance = Instance(name, self.env | settings, log, args)
            instance.spawn()
            self.instances[name] = instance
            started.append(instance)
        for instance in started:
            instance.wait_ready()
        return started

    def __getitem__(self, name: str) -> Instance:
        return self.instances[name]

    def logs(self, *, tail: int = 80) -> str:
        """The last lines of every instance's output."""
        parts = []
        for name, instance in self.instances.items():
            text = instance.log.read_text(errors="replace") if instance.log.exists() else ""
            lines = text.splitlines()
            parts.append(f"--- instance {name} ---\n" + "\n".join(lines[-tail:]))
        return "\n".join(parts)

    def close(self) -> None:
        for instance in self.instances.values():
            instance.close()

    def __enter__(self) -> Instances:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None:
            print(self.logs(), file=sys.stderr)
        self.close()
