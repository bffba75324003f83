from __future__ import annotations

import socket
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet
from starlette.testclient import TestClient

from faceplate.app import create_app
from faceplate.settings import Settings
from faceplate.state import AppState
from tests.support.app import bearer, dev_settings, dev_token


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_database_away_gives_503_and_liveness_stays_ok(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/nowhere"
    settings = dev_settings(url, tmp_path, db_pool_timeout_s=1.0)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["error"]["code"] == "unavailable"
        me = client.get("/v1/me", headers=bearer(dev_token(settings, "a@example.com")))
        assert me.status_code == 503
        assert me.json()["error"]["code"] == "unavailable"


def test_exhausted_pool_gives_503_after_the_timeout(database_url: str, tmp_path: Path) -> None:
    settings = dev_settings(database_url, tmp_path, db_pool_max=2, db_pool_timeout_s=0.3)
    headers = bearer(dev_token(settings, "a@example.com"))
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/me", headers=headers).status_code == 200
        state: AppState = client.app_state["faceplate"]
        held = [client.portal.call(state.db.pool.acquire) for _ in range(2)]
        response = client.get("/v1/conversations", headers=headers)
        assert response.status_code == 503
        assert response.json() == {
            "error": {"code": "unavailable", "message": "database pool exhausted"}
        }
        for conn in held:
            client.portal.call(state.db.pool.release, conn)
        assert client.get("/v1/conversations", headers=headers).status_code == 200


def _cognito(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        auth="cognito",
        jwt_issuer="http://127.0.0.1:9/pool",
        cognito_client_ids=("client",),
        secret_key=Fernet.generate_key().decode(),
        db_pool_min=1,
    )


def test_cognito_mode_never_migrates_and_stays_unready(
    empty_database_url: str, tmp_path: Path
) -> None:
    with TestClient(create_app(_cognito(empty_database_url, tmp_path))) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "migration" in response.json()["error"]["message"]
    with psycopg.connect(empty_database_url) as conn:
        row = conn.execute("SELECT to_regclass('faceplate.users')").fetchone()
    assert row == (None,)


def test_cognito_mode_is_ready_at_head(database_url: str, tmp_path: Path) -> None:
    with TestClient(create_app(_cognito(database_url, tmp_path))) as client:
        assert client.get("/readyz").json() == {"status": "ready"}


def test_dev_mode_migrates_an_empty_database(empty_database_url: str, tmp_path: Path) -> None:
    with TestClient(create_app(dev_settings(empty_database_url, tmp_path))) as client:
        assert client.get("/readyz").json() == {"status": "ready"}
