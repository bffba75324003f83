"""Identity under stress: an issuer whose keys cannot be had is 503 (1011 on a socket), never
401; claims too long for the users table are 401, not 500; a taken email closes a socket 4409
without a stack trace; failed sign-ins are logged with their reason, never the token."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from faceplate.app import create_app
from faceplate.auth import cognito
from faceplate.settings import Settings
from faceplate.turns.frames import CloseCode
from tests.routes.helpers import assert_error
from tests.support.app import bearer, dev_token
from tests.support.jwks import DEFAULT_CLIENT_ID, JwksServer, SigningKey, id_token
from tests.turns.helpers import connect, new_conversation, receive, socket_path


@pytest.fixture
def cognito_app(database_url: str, tmp_path: Path, jwks: JwksServer) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        auth="cognito",
        jwt_issuer=jwks.issuer,
        cognito_client_ids=(DEFAULT_CLIENT_ID,),
        secret_key=Fernet.generate_key().decode(),
        mcp_allow_private=False,
        db_pool_min=1,
        db_pool_timeout_s=5,
    )
    with TestClient(create_app(settings)) as client:
        yield client


class _ShiftedClock:
    def __init__(self, offset_s: float) -> None:
        self._offset_s = offset_s

    def monotonic(self) -> float:
        return time.monotonic() + self._offset_s


def test_before_the_issuer_s_keys_are_fetched_v1_is_503_then_recovers(
    cognito_app: TestClient, jwks: JwksServer, key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = bearer(id_token(key, issuer=jwks.issuer))
    jwks.failing = True

    first = cognito_app.get("/v1/me", headers=token)
    again = cognito_app.get("/v1/me", headers=token)  # no refetch due yet: still no keys

    assert "issuer" in assert_error(first, 503, "unavailable")
    assert_error(again, 503, "unavailable")
    jwks.failing = False
    monkeypatch.setattr(cognito, "time", _ShiftedClock(10))  # past the retry delay
    assert cognito_app.get("/v1/me", headers=token).status_code == 200


def test_a_garbage_token_is_still_401_while_the_issuer_is_away(
    cognito_app: TestClient, jwks: JwksServer
) -> None:
    jwks.failing = True

    assert_error(cognito_app.get("/v1/me", headers=bearer("not-a-jwt")), 401, "unauthorized")


def test_a_socket_closes_1011_while_the_issuer_s_keys_cannot_be_had(
    cognito_app: TestClient, jwks: JwksServer, key: SigningKey
) -> None:
    token = bearer(id_token(key, issuer=jwks.issuer))
    jwks.failing = True
    with (
        cognito_app.websocket_connect(socket_path(str(key.kid)), headers=token) as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_text()
    assert closed.value.code == CloseCode.SERVER_FAULT


@pytest.mark.parametrize("claim", ["email", "sub"])
def test_a_claim_over_255_characters_is_401(
    cognito_app: TestClient, jwks: JwksServer, key: SigningKey, claim: str
) -> None:
    value = "a" * 250 + "@example.com" if claim == "email" else "s" * 256
    token = id_token(key, issuer=jwks.issuer, **{claim: value})

    assert_error(cognito_app.get("/v1/me", headers=bearer(token)), 401, "unauthorized")


def test_a_dev_email_over_255_characters_is_401(client: TestClient, settings: Settings) -> None:
    token = dev_token(settings, "a" * 250 + "@example.com")

    assert_error(client.get("/v1/me", headers=bearer(token)), 401, "unauthorized")


def test_a_failed_sign_in_is_logged_with_its_reason_and_never_the_token(
    client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    token = dev_token(settings, "alice@example.com")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    with caplog.at_level(logging.INFO, logger="faceplate.security"):
        client.get("/v1/me", headers=bearer(forged))

    (line,) = [r for r in caplog.records if r.name == "faceplate.security"]
    assert line.getMessage().startswith("sign_in_failed: signature rejected")
    assert forged not in caplog.text and forged.split(".")[2] not in caplog.text


def test_a_socket_whose_email_belongs_to_another_closes_4409_without_a_trace(
    client: TestClient, settings: Settings, alice: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    conversation = new_conversation(client, alice)
    thief = bearer(dev_token(settings, "alice@example.com", subject="someone-else"))

    with (
        caplog.at_level(logging.DEBUG),
        connect(client, conversation, thief) as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        receive(ws)

    assert closed.value.code == CloseCode.EMAIL_TAKEN
    assert not [r for r in caplog.records if r.exc_info]
    assert "the token's email belongs to another user" in caplog.text
