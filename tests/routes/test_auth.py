"""Bearer tokens over real HTTP: cognito mode against a live JWKS, and the dev CLI's tokens."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from starlette.testclient import TestClient

from faceplate.app import create_app
from faceplate.auth import cognito
from faceplate.settings import Settings
from tests.routes.helpers import Headers, assert_error
from tests.support.app import bearer
from tests.support.jwks import (
    DEFAULT_CLIENT_ID,
    DEFAULT_EMAIL,
    JwksServer,
    SigningKey,
    access_token,
    b64url,
    cognito_claims,
    hs256_token,
    id_token,
    new_signing_key,
    unsigned_token,
)
from tests.support.server import ServerThread

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cognito_settings(database_url: str, tmp_path: Path, jwks: JwksServer) -> Settings:
    return Settings(
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


@pytest.fixture
def http(cognito_settings: Settings) -> Iterator[httpx.Client]:
    with (
        ServerThread(create_app(cognito_settings), lifespan="on") as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        yield client


def _now() -> int:
    return int(time.time())


def _tampered(token: str) -> str:
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["email"] = "mallory@example.com"
    return ".".join([head, b64url(json.dumps(claims).encode()), signature])


HeaderMaker = Callable[[SigningKey, SigningKey, str], Headers]

REJECTED: dict[str, HeaderMaker] = {
    "no header": lambda key, other, iss: {},
    "basic scheme": lambda key, other, iss: {"Authorization": f"Basic {id_token(key, issuer=iss)}"},
    "bearer without a token": lambda key, other, iss: {"Authorization": "Bearer"},
    "malformed token": lambda key, other, iss: bearer("not-a-jwt"),
    "garbage segments": lambda key, other, iss: bearer("a.b.c"),
    "expired": lambda key, other, iss: bearer(
        id_token(key, issuer=iss, iat=_now() - 7200, exp=_now() - 3600)
    ),
    "future nbf": lambda key, other, iss: bearer(id_token(key, issuer=iss, nbf=_now() + 3600)),
    "wrong issuer": lambda key, other, iss: bearer(
        id_token(key, issuer="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other")
    ),
    "id token for another audience": lambda key, other, iss: bearer(
        id_token(key, issuer=iss, client_id="another-client")
    ),
    "access token for another client_id": lambda key, other, iss: bearer(
        access_token(key, issuer=iss, client_id="another-client")
    ),
    "refresh token_use": lambda key, other, iss: bearer(
        id_token(key, issuer=iss, token_use="refresh")
    ),
    "unknown kid": lambda key, other, iss: bearer(id_token(other, issuer=iss)),
    "alg none": lambda key, other, iss: bearer(
        unsigned_token(cognito_claims("id", issuer=iss), header={"kid": key.kid})
    ),
    "hs256 signed with the public key pem": lambda key, other, iss: bearer(
        hs256_token(key.public_pem, cognito_claims("id", issuer=iss), header={"kid": key.kid})
    ),
    "tampered payload": lambda key, other, iss: bearer(_tampered(id_token(key, issuer=iss))),
    "missing email": lambda key, other, iss: bearer(id_token(key, issuer=iss, drop=("email",))),
}


@pytest.mark.parametrize("make_headers", REJECTED.values(), ids=REJECTED.keys())
def test_rejected_token_is_401_with_bearer_challenge(
    http: httpx.Client,
    jwks: JwksServer,
    key: SigningKey,
    second_key: SigningKey,
    make_headers: HeaderMaker,
) -> None:
    response = http.get("/v1/me", headers=make_headers(key, second_key, jwks.issuer))
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("make_token", [id_token, access_token], ids=["id", "access"])
def test_good_token_is_accepted(
    http: httpx.Client,
    jwks: JwksServer,
    key: SigningKey,
    make_token: Callable[..., str],
) -> None:
    response = http.get("/v1/me", headers=bearer(make_token(key, issuer=jwks.issuer)))
    assert response.status_code == 200, response.text
    assert response.json()["email"] == DEFAULT_EMAIL


def test_token_within_the_leeway_after_expiry_is_accepted(
    http: httpx.Client, jwks: JwksServer, key: SigningKey
) -> None:
    token = id_token(key, issuer=jwks.issuer, iat=_now() - 3600, exp=_now() - 20)
    assert http.get("/v1/me", headers=bearer(token)).status_code == 200


class _ShiftedClock:
    """The `time` module as seen by the verifier, `offset_s` seconds in the future."""

    def __init__(self, offset_s: float) -> None:
        self._offset_s = offset_s

    def monotonic(self) -> float:
        return time.monotonic() + self._offset_s


def test_key_published_later_is_accepted(
    http: httpx.Client, jwks: JwksServer, key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert http.get("/v1/me", headers=bearer(id_token(key, issuer=jwks.issuer))).status_code == 200
    rotated = new_signing_key("route-key-2")
    jwks.publish([key, rotated])
    # Unknown kids re-fetch the JWKS at most once a minute: let that minute pass.
    monkeypatch.setattr(cognito, "time", _ShiftedClock(61))
    response = http.get("/v1/me", headers=bearer(id_token(rotated, issuer=jwks.issuer)))
    assert response.status_code == 200, response.text
    assert response.json()["email"] == DEFAULT_EMAIL


def test_user_email_follows_the_token(
    http: httpx.Client, jwks: JwksServer, key: SigningKey
) -> None:
    first = http.get("/v1/me", headers=bearer(id_token(key, issuer=jwks.issuer))).json()
    token = id_token(key, issuer=jwks.issuer, email="renamed@example.com")
    second = http.get("/v1/me", headers=bearer(token)).json()
    assert second == {**first, "email": "renamed@example.com"}


def test_email_of_another_subject_is_a_conflict(
    http: httpx.Client, jwks: JwksServer, key: SigningKey
) -> None:
    owner = id_token(key, issuer=jwks.issuer, sub="subject-a", email="taken@example.com")
    assert http.get("/v1/me", headers=bearer(owner)).status_code == 200
    other = id_token(key, issuer=jwks.issuer, sub="subject-b", email="taken@example.com")
    assert_error(http.get("/v1/me", headers=bearer(other)), 409, "conflict")


def test_conflict_leaves_the_owner_untouched(
    http: httpx.Client, jwks: JwksServer, key: SigningKey
) -> None:
    owner = bearer(id_token(key, issuer=jwks.issuer, sub="subject-a", email="taken@example.com"))
    before = http.get("/v1/me", headers=owner).json()
    other = id_token(key, issuer=jwks.issuer, sub="subject-b", email="taken@example.com")
    http.get("/v1/me", headers=bearer(other))
    assert http.get("/v1/me", headers=owner).json() == before


def _cli_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEPLATE_")}
    assert settings.database_url is not None
    env |= {
        "FACEPLATE_AUTH": "dev",
        "FACEPLATE_DATA_DIR": str(settings.data_dir),
        "FACEPLATE_DATABASE_URL": settings.database_url,
    }
    return env


def test_cli_token_is_accepted_in_dev_mode(client: TestClient, settings: Settings) -> None:
    done = subprocess.run(
        ["uv", "run", "--no-sync", "faceplate", "token", "carol@example.com"],
        cwd=PROJECT_ROOT,
        env=_cli_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    token = done.stdout.strip()
    response = client.get("/v1/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "carol@example.com"
