"""A server that answers a tool call with 500 MB cannot raise the service's memory: measured on
a real `faceplate serve` process, its peak RSS (VmHWM, reset before the turn) grows by less
than 64 MiB, and the turn completes with an error result naming the size."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from faceplate.auth.dev import load_or_create_secret, mint_token
from tests.mcp_client.servers import free_port
from tests.support.flood_mcp import flood_servers
from tests.support.readiness import wait_ready
from tests.support.scripted_llm import ScriptedCall, ScriptedLLM

MIB = 1024 * 1024
FLOOD = 500_000_000


def _status(pid: int, field: str) -> int:
    """A /proc/<pid>/status size, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for process {pid}")


class Service:
    """`faceplate serve` in a process of its own, with a token of alice's."""

    def __init__(self, env: dict[str, str], port: int, token: str, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.token = token
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "faceplate.cli", "serve", "--port", str(port)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_ready(self.url, self.process, log)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"{self.url}{path}", json=body, headers=self.headers, timeout=30)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def turn(self, conversation_id: str, content: str) -> list[dict[str, Any]]:
        url = f"ws://127.0.0.1:{self.url.rsplit(':', 1)[1]}/v1/conversations/{conversation_id}/ws"
        frames: list[dict[str, Any]] = []
        with ws_connect(url, additional_headers=self.headers, open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "ready"
            ws.send(json.dumps({"type": "user_message", "content": content}))
            while not frames or frames[-1]["type"] != "turn_end":
                frames.append(json.loads(ws.recv(timeout=120)))
        return frames


@pytest.fixture
def service(database_url: str, tmp_path: Path, llm: ScriptedLLM) -> Iterator[Service]:
    data = tmp_path / "data"
    token = mint_token(load_or_create_secret(data), email="alice@example.com")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEPLATE_")}
    env |= {
        "FACEPLATE_DATABASE_URL": database_url,
        "FACEPLATE_DATA_DIR": str(data),
        **llm.env("openai"),
    }
    running = Service(env, free_port(), token, tmp_path / "serve.log")
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("transport", "mode", "limit"),
    [
        ("streamable_http", "json", 8 * MIB),
        ("streamable_http", "event", 8 * MIB),
        ("streamable_http", "gzip", 8 * MIB),
        ("sse", "event", MIB),
    ],
)
def test_a_500_mb_answer_leaves_the_service_s_memory_alone(
    service: Service, llm: ScriptedLLM, transport: str, mode: str, limit: int
) -> None:
    with flood_servers() as (http_url, sse_url):
        url = http_url if transport == "streamable_http" else sse_url
        service.post(
            "/v1/mcp-configs", {"name": "Flood", "config": {"transport": transport, "url": url}}
        )
        conversation = service.post("/v1/conversations", {})["id"]
        # A first turn over the same path, so that what is loaded once is loaded already.
        llm.reply_tool_calls([ScriptedCall(name="flood__add", arguments={"a": 1, "b": 2})])
        llm.reply_text(["3."])
        assert service.turn(conversation, "warm up")[-1]["status"] == "completed"
        pid = service.process.pid
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
        before = _status(pid, "VmRSS")
        call = ScriptedCall(name="flood__flood", arguments={"bytes": FLOOD, "mode": mode})
        llm.reply_tool_calls([call])
        llm.reply_text(["It was too large."])

        frames = service.turn(conversation, "flood me")

        growth = _status(pid, "VmHWM") - before
    print(f"\n{transport}/{mode}: peak RSS grew by {growth / MIB:.1f} MiB during the turn")
    assert frames[-1]["type"] == "turn_end" and frames[-1]["status"] == "completed"
    (result,) = [f["tool_result"] for f in frames if f["type"] == "tool_result"]
    assert result["is_error"] is True
    assert f"over the {limit:,}-byte limit" in result["content"][0]["text"]
    assert growth < 64 * MIB
