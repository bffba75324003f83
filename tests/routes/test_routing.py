from __future__ import annotations

from starlette.testclient import TestClient

Headers = dict[str, str]


def test_a_path_parameter_reaches_the_handler(client: TestClient, alice: Headers) -> None:
    created = client.post("/v1/conversations", json={}, headers=alice).json()
    response = client.get(f"/v1/conversations/{created['id']}", headers=alice)
    assert response.json()["id"] == created["id"]


def test_head_is_answered_like_get_without_a_body(client: TestClient, alice: Headers) -> None:
    response = client.head("/v1/me", headers=alice)
    assert response.status_code == 200
    assert response.content == b""


def test_a_known_path_with_another_method_is_405(client: TestClient, alice: Headers) -> None:
    response = client.put("/v1/me", headers=alice)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_an_empty_path_segment_is_not_an_id(client: TestClient, alice: Headers) -> None:
    response = client.get("/v1/conversations//messages", headers=alice)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_trailing_slash_redirects_as_starlette_does(client: TestClient, alice: Headers) -> None:
    response = client.get("/v1/me/", headers=alice, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"].endswith("/v1/me")


def test_an_unknown_path_of_a_known_length_is_404(client: TestClient, alice: Headers) -> None:
    response = client.get("/v1/nothing", headers=alice)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
