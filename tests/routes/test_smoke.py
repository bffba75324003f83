from __future__ import annotations

from starlette.testclient import TestClient


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz(client: TestClient) -> None:
    assert client.get("/readyz").json() == {"status": "ready"}


def test_me_is_created_on_first_request(client: TestClient, alice: dict[str, str]) -> None:
    body = client.get("/v1/me", headers=alice).json()
    assert body["email"] == "alice@example.com"
    assert client.get("/v1/me", headers=alice).json() == body
