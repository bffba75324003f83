"""Driving the page in Chromium: the browser, the app served for real, a user per test."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page

from faceplate.settings import Settings, load_settings
from tests.support.app import bearer, dev_token
from tests.support.scripted_llm import ScriptedLLM

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """The system Chromium (Debian's `chromium`), or FACEPLATE_TEST_CHROMIUM."""
    return (
        os.environ.get("FACEPLATE_TEST_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


@dataclass
class Served:
    """The app on a real port (maybe behind a proxy), its settings and its scripted model."""

    url: str
    settings: Settings
    llm: ScriptedLLM
    mcp_url: str

    def headers(self, email: str) -> dict[str, str]:
        return bearer(dev_token(self.settings, email))

    def api(self, email: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers(email), timeout=10)


@dataclass
class Ui:
    """One test's browser page, signed in (by the page itself) as `email`."""

    page: Page
    served: Served
    email: str
    errors: list[str] = field(default_factory=list)

    def open(self, hash_: str = "") -> None:
        self.page.goto(f"{self.served.url}/{hash_}")
        self.page.locator(".who .email").wait_for()

    def send(self, text: str) -> None:
        box = self.page.get_by_label("Message")
        box.fill(text)
        box.press("Enter")

    def api(self) -> httpx.Client:
        return self.served.api(self.email)

    def conversation_id(self) -> str:
        self.page.wait_for_url("**/#/c/*")
        return self.page.url.rsplit("/", 1)[1]

    def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        with self.api() as http:
            response = http.get(f"/v1/conversations/{conversation_id}/messages")
            assert response.status_code == 200, response.text
            items: list[dict[str, Any]] = response.json()["items"]
            return items


def page_settings(database_url: str, data_dir: Path, llm: ScriptedLLM, **env: str) -> Settings:
    """Settings read as `serve` reads them, so settings that later changes add apply here."""
    return load_settings(
        {
            "FACEPLATE_DATABASE_URL": database_url,
            "FACEPLATE_DATA_DIR": str(data_dir),
            "FACEPLATE_DB_POOL_MIN": "1",
            "FACEPLATE_DB_POOL_TIMEOUT_S": "5",
            "FACEPLATE_TOOL_TIMEOUT_S": "10",
            "FACEPLATE_LLM_MODELS": f"{llm.model},{llm.model}-large",
            **llm.env(),
            **env,
        }
    )


def new_email() -> str:
    return f"u{uuid.uuid4().hex[:12]}@example.com"


def remember_email_script(email: str, ttl_s: int | None = None) -> str:
    script = f"localStorage.setItem('faceplate.email', {json.dumps(email)});"
    if ttl_s is not None:
        script += f"localStorage.setItem('faceplate.dev_ttl_s', '{ttl_s}');"
    return script


def screenshot_path(node_id: str) -> Path:
    """test-output/browser/<module>/<test>.png for a pytest node id."""
    module, _, name = node_id.partition("::")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return OUTPUT / Path(module).stem / f"{safe}.png"


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target port; `drop()` cuts every open connection, as a
    network that goes away would, and `retarget()` points new connections elsewhere."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    def retarget(self, port: int) -> None:
        self.target_port = port

    def drop(self) -> None:
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            _close(sock)

    def stop(self) -> None:
        self._stopping = True
        _close(self._listener)
        self.drop()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
