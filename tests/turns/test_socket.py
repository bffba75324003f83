from __future__ import annotations

import json
import socket
from pathlib import Path

import msgspec
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from faceplate.app import create_app
from faceplate.routes.ws_limits import SocketLimits
from faceplate.turns.frames import CloseCode
from tests.support.app import bearer, dev_settings, dev_token
from tests.turns.helpers import (
    connect,
    new_conversation,
    receive,
    socket_path,
    state_of,
    stored,
    until,
)

MIB = 1024 * 1024


def _closed_with(
    client: TestClient, path: str, code: int, headers: dict[str, str] | None = None
) -> None:
    with (
        client.websocket_connect(path, headers=dict(headers or {})) as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_text()
    assert (closed.value.code, closed.value.reason) == (code, CloseCode(code).reason)


def test_header_auth_gets_ready_without_a_turn(client: TestClient, alice: dict[str, str]) -> None:
    conversation = new_conversation(client, alice)
    with connect(client, conversation, alice) as ws:
        assert receive(ws) == {"type": "ready", "conversation_id": conversation, "turn": None}


def test_auth_by_first_frame(client: TestClient, alice: dict[str, str]) -> None:
    conversation = new_conversation(client, alice)
    token = alice["Authorization"].removeprefix("Bearer ")
    with connect(client, conversation) as ws:
        ws.send_json({"type": "auth", "token": token})
        assert receive(ws)["type"] == "ready"
        ws.send_json({"type": "ping"})
        assert receive(ws) == {"type": "pong"}


def test_bad_token_in_the_header_closes_4401(client: TestClient, alice: dict[str, str]) -> None:
    conversation = new_conversation(client, alice)
    bad = {"Authorization": "Bearer not-a-jwt"}
    _closed_with(client, socket_path(conversation), 4401, headers=bad)


def test_bad_token_in_the_first_frame_closes_4401(
    client: TestClient, alice: dict[str, str]
) -> None:
    conversation = new_conversation(client, alice)
    with connect(client, conversation) as ws:
        ws.send_json({"type": "auth", "token": "not-a-jwt"})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert (closed.value.code, closed.value.reason) == (4401, CloseCode(4401).reason)


@pytest.mark.parametrize("first", ['{"type": "ping"}', "not json", '{"type": "auth"}'])
def test_a_first_frame_other_than_auth_closes_4401(
    client: TestClient, alice: dict[str, str], first: str
) -> None:
    conversation = new_conversation(client, alice)
    with connect(client, conversation) as ws:
        ws.send_text(first)
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert (closed.value.code, closed.value.reason) == (4401, CloseCode(4401).reason)


def test_no_auth_in_time_closes_4408(client: TestClient, alice: dict[str, str]) -> None:
    conversation = new_conversation(client, alice)
    state_of(client).socket_limits = SocketLimits(auth_timeout_s=0.2)
    _closed_with(client, socket_path(conversation), 4408)


def test_another_users_conversation_closes_4404(
    client: TestClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    conversation = new_conversation(client, bob)
    _closed_with(client, socket_path(conversation), 4404, headers=alice)


def test_an_id_that_is_not_a_uuid_closes_4404(client: TestClient, alice: dict[str, str]) -> None:
    _closed_with(client, socket_path("not-a-uuid"), 4404, headers=alice)


def test_bad_auth_wins_over_a_bad_id(client: TestClient) -> None:
    _closed_with(client, socket_path("not-a-uuid"), 4401, headers={"Authorization": "Basic x"})


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        '{"type": "nope"}',
        '{"type": "user_message"}',
        '{"type": "user_message", "content": 5}',
        '{"type": "ping", "extra": 1}',
        "[]",
    ],
)
def test_an_invalid_frame_is_answered_and_the_socket_stays_open(
    client: TestClient, alice: dict[str, str], frame: str
) -> None:
    conversation = new_conversation(client, alice)
    with connect(client, conversation, alice) as ws:
        receive(ws)
        ws.send_text(frame)
        error = receive(ws)
        assert error["type"] == "error"
        assert error["code"] == "invalid_frame"
        assert set(error) == {"type", "code", "message"}
        ws.send_json({"type": "ping"})
        assert receive(ws) == {"type": "pong"}


def test_a_binary_frame_is_invalid(client: TestClient, alice: dict[str, str]) -> None:
    conversation = new_conversation(client, alice)
    with connect(client, conversation, alice) as ws:
        receive(ws)
        ws.send_bytes(b'{"type": "ping"}')
        assert receive(ws)["code"] == "invalid_frame"


@pytest.mark.parametrize("content", ["", "é" * 32_769])  # 0 and 65,538 bytes
def test_content_outside_1_to_65536_bytes_is_refused(
    client: TestClient, alice: dict[str, str], content: str
) -> None:
    conversation = new_conversation(client, alice)
    with connect(client, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": content})
        error = receive(ws)
        assert (error["type"], error["code"]) == ("error", "invalid_frame")
        assert "65,536 bytes" in error["message"]
    assert stored(client, alice, conversation) == []


def test_content_of_65536_bytes_is_accepted(client: TestClient, alice: dict[str, str]) -> None:
    conversation = new_conversation(client, alice)
    content = "é" * 32_768
    with connect(client, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": content})
        assert until(ws, "turn_end")[-1]["status"] == "completed"
    assert stored(client, alice, conversation)[0]["content"] == content


def test_a_frame_over_1_mib_closes_1009(client: TestClient, alice: dict[str, str]) -> None:
    conversation = new_conversation(client, alice)
    with connect(client, conversation, alice) as ws:
        receive(ws)
        ws.send_text(json.dumps({"type": "user_message", "content": "x" * MIB}))
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert (closed.value.code, closed.value.reason) == (1009, CloseCode(1009).reason)
    assert stored(client, alice, conversation) == []


def test_a_frame_of_exactly_1_mib_is_read(client: TestClient, alice: dict[str, str]) -> None:
    conversation = new_conversation(client, alice)
    frame = msgspec.json.encode({"type": "user_message", "content": ""})
    padded = frame[:-1] + b" " * (MIB - len(frame)) + b"}"
    with connect(client, conversation, alice) as ws:
        receive(ws)
        ws.send_text(padded.decode())
        assert receive(ws)["code"] == "invalid_frame"  # empty content, but the socket lives


def test_deleting_the_conversation_closes_its_sockets_4404(
    client: TestClient, alice: dict[str, str]
) -> None:
    conversation = new_conversation(client, alice)
    with connect(client, conversation, alice) as ws:
        receive(ws)
        assert client.delete(f"/v1/conversations/{conversation}", headers=alice).status_code == 204
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert (closed.value.code, closed.value.reason) == (4404, CloseCode(4404).reason)


def test_cancel_without_a_turn_is_ignored(client: TestClient, alice: dict[str, str]) -> None:
    conversation = new_conversation(client, alice)
    with connect(client, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "cancel"})
        ws.send_json({"type": "ping"})
        assert receive(ws) == {"type": "pong"}


def test_a_database_away_at_connect_closes_1011(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = dev_settings(f"postgresql://postgres@127.0.0.1:{port}/x", tmp_path)
    headers = bearer(dev_token(settings, "a@example.com"))
    with TestClient(create_app(settings)) as client:
        path = socket_path("0190b6a1-0000-7000-8000-000000000000")
        _closed_with(client, path, 1011, headers=headers)
