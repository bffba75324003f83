"""`faceplate serve` as a real process of its own, for the tests that stop or kill it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from tests.mcp_client.servers import free_port
from tests.support.readiness import wait_ready
from tests.support.scripted_llm import ScriptedLLM


class Serve:
    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "faceplate.cli", "serve", "--port", str(self.port), *args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_ready(self.url, self.process, log)

    def socket(
        self, stack: ExitStack, conversation_id: str, headers: dict[str, str]
    ) -> ClientConnection:
        url = f"ws://127.0.0.1:{self.port}/v1/conversations/{conversation_id}/ws"
        ws = stack.enter_context(ws_connect(url, additional_headers=headers, open_timeout=10))
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
        return ws

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def serve_env(database_url: str, data: Path, llm: ScriptedLLM, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEPLATE_")}
    return env | {
        "FACEPLATE_DATABASE_URL": database_url,
        "FACEPLATE_DATA_DIR": str(data),
        **llm.env("openai"),
        **extra,
    }
