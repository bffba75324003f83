"""Real MCP test servers: in a thread of this process, or in a process of their own."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.mcp_client.toolbox import Recorder
from tests.support.server import ServerThread

HERE = Path(__file__).parent
LEGACY_PREFIX = "/legacy"
_DISCOVER_REFUSED = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": "server-error",
        "error": {"code": -32600, "message": "Bad Request: Missing session ID"},
    }
).encode()


def recording(inner: ASGIApp, recorder: Recorder) -> ASGIApp:
    """Record every HTTP request's JSON-RPC method and headers.

    Under /legacy the server acts like a 2025-era one: it refuses `server/discover` the way such
    a server answers a request without a session, so clients fall back to `initialize`.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        legacy = scope["path"].startswith(LEGACY_PREFIX)
        if legacy:
            path = scope["path"].removeprefix(LEGACY_PREFIX)
            scope = {**scope, "path": path, "raw_path": path.encode()}
        received: list[Message] = []
        body = b""
        if scope["method"] == "POST":
            while True:
                message = await receive()
                received.append(message)
                body += message.get("body", b"")
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
        try:
            rpc_method = str(json.loads(body).get("method", "")) if body else ""
        except (ValueError, AttributeError):
            rpc_method = ""
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        with recorder.lock:
            recorder.requests.append((scope["method"], rpc_method, headers))
        if legacy and rpc_method == "server/discover":
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": _DISCOVER_REFUSED})
            return

        async def replay() -> Message:
            return received.pop(0) if received else await receive()

        await inner(scope, replay, send)

    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_in_thread(app: ASGIApp) -> Iterator[str]:
    with ServerThread(app, lifespan="auto", timeout_graceful_shutdown=1) as server:
        yield server.url


class ServerProcess:
    """The streamable HTTP test server in its own process, to kill and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        script = str(HERE / "http_server.py")
        self._process = subprocess.Popen([sys.executable, script, str(self.port)])
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError("test MCP server process did not start") from None
                time.sleep(0.05)

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
