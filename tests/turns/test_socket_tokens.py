"""A socket never outlives its token (CONTRACT §10): it closes 4401 at `exp`, unless an `auth`
frame of the same subject replaced the token first; another subject's token closes it 4401."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from faceplate.auth.dev import load_or_create_secret, mint_token
from faceplate.settings import Settings
from faceplate.turns.frames import CloseCode
from tests.support.app import bearer
from tests.turns.helpers import connect, new_conversation, receive


def _token(settings: Settings, *, ttl_s: int, subject: str | None = None) -> str:
    secret = load_or_create_secret(settings.data_dir)
    return mint_token(secret, email="alice@example.com", subject=subject, ttl_s=ttl_s)


def test_a_socket_closes_4401_when_its_token_expires(
    client: TestClient, settings: Settings, alice: dict[str, str]
) -> None:
    conversation = new_conversation(client, alice)
    expires = time.time() + 2
    with connect(client, conversation, bearer(_token(settings, ttl_s=2))) as ws:
        assert receive(ws)["type"] == "ready"
        ws.send_json({"type": "ping"})
        assert receive(ws) == {"type": "pong"}
        with pytest.raises(WebSocketDisconnect) as closed:
            receive(ws)  # nothing more comes until the token expires
    assert (closed.value.code, closed.value.reason) == (4401, CloseCode.BAD_AUTH.reason)
    assert time.time() >= expires - 1  # not before exp (the token's seconds are whole)


def test_an_auth_frame_of_the_same_subject_replaces_the_token(
    client: TestClient, settings: Settings, alice: dict[str, str]
) -> None:
    conversation = new_conversation(client, alice)
    with connect(client, conversation, bearer(_token(settings, ttl_s=2))) as ws:
        assert receive(ws)["type"] == "ready"
        ws.send_json({"type": "auth", "token": _token(settings, ttl_s=3600)})
        time.sleep(3)  # the first token has expired by now
        ws.send_json({"type": "ping"})
        assert receive(ws) == {"type": "pong"}


def test_an_auth_frame_also_works_on_a_socket_signed_in_by_its_first_frame(
    client: TestClient, settings: Settings, alice: dict[str, str]
) -> None:
    conversation = new_conversation(client, alice)
    with connect(client, conversation) as ws:
        ws.send_json({"type": "auth", "token": _token(settings, ttl_s=3600)})
        assert receive(ws)["type"] == "ready"
        ws.send_json({"type": "auth", "token": _token(settings, ttl_s=7200)})
        ws.send_json({"type": "ping"})
        assert receive(ws) == {"type": "pong"}


@pytest.mark.parametrize("which", ["another subject", "not a token", "expired"])
def test_an_auth_frame_that_does_not_hold_closes_4401(
    client: TestClient, settings: Settings, alice: dict[str, str], which: str
) -> None:
    conversation = new_conversation(client, alice)
    token = {
        "another subject": _token(settings, ttl_s=3600, subject="someone-else"),
        "not a token": "not-a-jwt",
        "expired": _token(settings, ttl_s=-3600),
    }[which]
    with connect(client, conversation, alice) as ws:
        assert receive(ws)["type"] == "ready"
        ws.send_json({"type": "auth", "token": token})
        with pytest.raises(WebSocketDisconnect) as closed:
            receive(ws)
    assert closed.value.code == CloseCode.BAD_AUTH


def test_a_token_past_its_exp_cannot_open_a_socket(
    client: TestClient, settings: Settings, alice: dict[str, str]
) -> None:
    conversation = new_conversation(client, alice)
    # Within the verifier's leeway (REST still takes it), but a socket would close at once.
    stale = bearer(_token(settings, ttl_s=-5))
    assert client.get("/v1/me", headers=stale).status_code == 200
    with connect(client, conversation, stale) as ws, pytest.raises(WebSocketDisconnect) as closed:
        receive(ws)
    assert closed.value.code == CloseCode.BAD_AUTH
