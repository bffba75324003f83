"""Driving the app end to end: MCP configs over REST, turns over the WebSocket."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

import httpx2
from starlette.testclient import TestClient

from tests.mcp_client.servers import HERE
from tests.mcp_client.toolbox import Recorder
from tests.support.scripted_llm import RecordedRequest
from tests.turns.helpers import Frame, connect, receive, until

Headers = dict[str, str]
AppFactory = Callable[..., TestClient]
STDIO_SCRIPT = str(HERE / "stdio_server.py")


class EventRecorder(Recorder):
    """A Recorder a test can wait on: `wait_for("sleeping", label)` returns once that happened."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = threading.Condition()

    def event(self, kind: str, label: str) -> None:
        with self._changed:
            super().event(kind, label)
            self._changed.notify_all()

    def wait_for(self, kind: str, label: str, timeout_s: float = 10.0) -> bool:
        seen = self.sleeping if kind == "sleeping" else self.cancelled
        with self._changed:
            return self._changed.wait_for(lambda: label in seen, timeout=timeout_s)


def http_config(url: str, test_id: str, **headers: str) -> dict[str, Any]:
    return {"transport": "streamable_http", "url": url, "headers": {"X-Test": test_id, **headers}}


def sse_config(url: str, test_id: str) -> dict[str, Any]:
    return {"transport": "sse", "url": url, "headers": {"X-Test": test_id}}


def stdio_config() -> dict[str, Any]:
    return {"transport": "stdio", "command": sys.executable, "args": [STDIO_SCRIPT]}


def create_config(
    client: TestClient, headers: Headers, name: str, config: dict[str, Any]
) -> dict[str, Any]:
    response = client.post(
        "/v1/mcp-configs", json={"name": name, "config": config}, headers=headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def patch_config(
    client: TestClient, headers: Headers, config_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = client.patch(f"/v1/mcp-configs/{config_id}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    patched: dict[str, Any] = response.json()
    return patched


def new_conversation(client: TestClient, headers: Headers) -> str:
    response = client.post("/v1/conversations", json={}, headers=headers)
    assert response.status_code == 201, response.text
    conversation_id: str = response.json()["id"]
    return conversation_id


def run_turn(
    client: TestClient, headers: Headers, conversation_id: str, content: str
) -> list[Frame]:
    """Every frame of one turn, from the user's message to turn_end."""
    with connect(client, conversation_id, headers) as ws:
        assert receive(ws)["type"] == "ready"
        ws.send_json({"type": "user_message", "content": content})
        return until(ws, "turn_end")


def one_turn(client: TestClient, headers: Headers, content: str = "go") -> list[Frame]:
    """A turn in a new conversation."""
    return run_turn(client, headers, new_conversation(client, headers), content)


def messages(client: TestClient, headers: Headers, conversation_id: str) -> list[Frame]:
    response = client.get(f"/v1/conversations/{conversation_id}/messages", headers=headers)
    assert response.status_code == 200, response.text
    items: list[Frame] = response.json()["items"]
    return items


def results(frames: list[Frame]) -> list[Frame]:
    """The ToolResults of the tool_result frames, in order."""
    return [f["tool_result"] for f in frames if f["type"] == "tool_result"]


def text(result: Frame) -> str:
    return "\n".join(block["text"] for block in result["content"] if block["type"] == "text")


def offered(request: RecordedRequest) -> list[str]:
    """The tool names a Chat Completions request offered the model."""
    return [tool["function"]["name"] for tool in request.body.get("tools") or ()]


def upstream_error(response: httpx2.Response) -> str:
    """Assert the contract's 502 `upstream_error` body; return its message."""
    assert response.status_code == 502, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == "upstream_error", body
    message: str = body["error"]["message"]
    assert message
    return message
