"""Reading turns off a socket, and the app's state and stored messages, for the turn tests."""

from __future__ import annotations

import json
from typing import Any, cast
from uuid import UUID

from starlette.testclient import TestClient, WebSocketTestSession

from faceplate.state import AppState
from faceplate.turns.fanout import Outbox
from faceplate.turns.frames import SERVER_FRAMES

Frame = dict[str, Any]
NUMBERED = {"turn_start", "text_delta", "tool_call", "tool_result", "turn_end"}


def parse(text: str) -> Frame:
    """One server frame: valid against the frame structs, `type` its first key."""
    SERVER_FRAMES.decode(text)
    frame: Frame = json.loads(text)
    assert next(iter(frame)) == "type", text
    return frame


def receive(ws: WebSocketTestSession) -> Frame:
    return parse(ws.receive_text())


def until(ws: WebSocketTestSession, kind: str) -> list[Frame]:
    """Frames up to and including the first of type `kind`."""
    frames = []
    while True:
        frame = receive(ws)
        frames.append(frame)
        if frame["type"] == kind:
            return frames


def deltas(ws: WebSocketTestSession, count: int) -> list[Frame]:
    """Frames up to and including the `count`-th text_delta."""
    frames: list[Frame] = []
    while sum(f["type"] == "text_delta" for f in frames) < count:
        frames.append(receive(ws))
    return frames


def drain(outbox: Outbox) -> list[Frame]:
    """Every frame queued in an outbox nobody writes out."""
    frames = []
    while len(outbox):
        frames.append(parse(outbox._frames.popleft()))
    return frames


def text_of(frames: list[Frame]) -> str:
    return "".join(f["delta"] for f in frames if f["type"] == "text_delta")


def types(frames: list[Frame]) -> list[str]:
    return [f["type"] for f in frames]


def assert_numbered(frames: list[Frame]) -> None:
    """Every frame of the turn carries its turn_id and seq 1, 2, 3 …; the others carry none."""
    turn = [f for f in frames if f["type"] in NUMBERED or "seq" in f]
    assert [f["seq"] for f in turn] == list(range(1, len(turn) + 1))
    assert len({f["turn_id"] for f in turn}) == 1
    for frame in frames:
        if frame["type"] in ("ready", "pong", "error"):
            assert "seq" not in frame and "turn_id" not in frame


def socket_path(conversation_id: str) -> str:
    return f"/v1/conversations/{conversation_id}/ws"


def connect(
    client: TestClient, conversation_id: str, headers: dict[str, str] | None = None
) -> WebSocketTestSession:
    """A socket on the conversation (TestClient adds its upgrade headers to the dict it gets)."""
    return client.websocket_connect(socket_path(conversation_id), headers=dict(headers or {}))


def new_conversation(client: TestClient, headers: dict[str, str], title: str | None = None) -> str:
    body = {} if title is None else {"title": title}
    response = client.post("/v1/conversations", json=body, headers=headers)
    assert response.status_code == 201
    conversation_id: str = response.json()["id"]
    return conversation_id


def stored(client: TestClient, headers: dict[str, str], conversation_id: str) -> list[Frame]:
    response = client.get(f"/v1/conversations/{conversation_id}/messages", headers=headers)
    assert response.status_code == 200
    items: list[Frame] = response.json()["items"]
    return items


def state_of(client: TestClient) -> AppState:
    return cast(AppState, client.app_state["faceplate"])


def wait_turn(client: TestClient, conversation_id: str) -> None:
    """Until the conversation's running turn, if any, has ended."""
    assert client.portal is not None
    client.portal.call(state_of(client).turns.wait, UUID(conversation_id))
