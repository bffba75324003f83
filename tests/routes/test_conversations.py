from __future__ import annotations

from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from tests.routes.helpers import insert_message

Headers = dict[str, str]


def _create(client: TestClient, headers: Headers, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/conversations", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_create_returns_the_conversation(client: TestClient, alice: Headers) -> None:
    conv = _create(client, alice, title="Plans")
    assert set(conv) == {
        "id",
        "title",
        "model",
        "archived",
        "active_message_id",
        "created_at",
        "updated_at",
    }
    assert (conv["model"], conv["archived"], conv["active_message_id"]) == (None, False, None)
    assert conv["title"] == "Plans"
    assert conv["created_at"].endswith("Z")
    assert client.get(f"/v1/conversations/{conv['id']}", headers=alice).json() == conv


def test_create_without_title(client: TestClient, alice: Headers) -> None:
    assert _create(client, alice)["title"] is None


def test_title_over_255_chars_is_a_validation_error(client: TestClient, alice: Headers) -> None:
    response = client.post("/v1/conversations", json={"title": "x" * 256}, headers=alice)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert "title" in response.json()["error"]["message"]


def test_unknown_field_is_a_validation_error(client: TestClient, alice: Headers) -> None:
    response = client.post("/v1/conversations", json={"name": "x"}, headers=alice)
    assert response.status_code == 422
    assert "name" in response.json()["error"]["message"]


def test_body_that_is_not_json(client: TestClient, alice: Headers) -> None:
    response = client.post("/v1/conversations", content=b"{nope", headers=alice)
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid_json", "message": "request body is not valid JSON"}
    }


def test_body_over_one_mebibyte(client: TestClient, alice: Headers) -> None:
    body = b'{"title": "' + b"x" * (1024 * 1024) + b'"}'
    response = client.post("/v1/conversations", content=body, headers=alice)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_chunked_body_over_one_mebibyte(client: TestClient, alice: Headers) -> None:
    def chunks() -> Any:
        for _ in range(20):
            yield b"x" * 65536

    response = client.post("/v1/conversations", content=chunks(), headers=alice)
    assert response.status_code == 413


def test_rename_and_clear_title(client: TestClient, alice: Headers) -> None:
    conv = _create(client, alice, title="a")
    renamed = client.patch(f"/v1/conversations/{conv['id']}", json={"title": "b"}, headers=alice)
    assert renamed.json()["title"] == "b"
    assert renamed.json()["updated_at"] > conv["updated_at"]
    cleared = client.patch(f"/v1/conversations/{conv['id']}", json={"title": None}, headers=alice)
    assert cleared.json()["title"] is None


def test_an_empty_patch_changes_nothing(client: TestClient, alice: Headers) -> None:
    conv = _create(client, alice, title="kept")
    response = client.patch(f"/v1/conversations/{conv['id']}", json={}, headers=alice)
    assert response.status_code == 200
    assert response.json() == conv


def test_delete_then_not_found(client: TestClient, alice: Headers) -> None:
    conv = _create(client, alice)
    assert client.delete(f"/v1/conversations/{conv['id']}", headers=alice).status_code == 204
    response = client.get(f"/v1/conversations/{conv['id']}", headers=alice)
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "conversation not found"}}
    assert client.delete(f"/v1/conversations/{conv['id']}", headers=alice).status_code == 404


@pytest.mark.parametrize("bad_id", ["nope", "123", "00000000-0000-0000-0000-00000000000g"])
def test_an_id_that_is_not_a_uuid_is_not_found(
    client: TestClient, alice: Headers, bad_id: str
) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = client.request(
            method, f"/v1/conversations/{bad_id}", json={"title": None}, headers=alice
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_list_is_most_recently_updated_first(client: TestClient, alice: Headers) -> None:
    first = _create(client, alice, title="first")
    second = _create(client, alice, title="second")
    client.patch(f"/v1/conversations/{first['id']}", json={"title": "first!"}, headers=alice)
    items = client.get("/v1/conversations", headers=alice).json()["items"]
    assert [c["id"] for c in items] == [first["id"], second["id"]]


def test_pages_cover_every_row_once_across_equal_timestamps(
    client: TestClient, alice: Headers, database_url: str
) -> None:
    ids = {_create(client, alice, title=str(i))["id"] for i in range(23)}
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE faceplate.conversations SET updated_at = '2026-01-01T00:00:00Z'")
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5}
        if cursor is not None:
            params["cursor"] = cursor
        page = client.get("/v1/conversations", params=params, headers=alice).json()
        pages += 1
        assert len(page["items"]) <= 5
        seen.extend(c["id"] for c in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 5
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == ids
    assert seen == sorted(seen, reverse=True)


def test_next_cursor_is_null_exactly_when_nothing_follows(
    client: TestClient, alice: Headers
) -> None:
    for i in range(4):
        _create(client, alice, title=str(i))
    full = client.get("/v1/conversations", params={"limit": 4}, headers=alice).json()
    assert len(full["items"]) == 4 and full["next_cursor"] is None
    partial = client.get("/v1/conversations", params={"limit": 3}, headers=alice).json()
    assert partial["next_cursor"] is not None
    rest = client.get(
        "/v1/conversations", params={"limit": 3, "cursor": partial["next_cursor"]}, headers=alice
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", ""])
def test_limit_outside_1_to_100_is_a_validation_error(
    client: TestClient, alice: Headers, limit: str
) -> None:
    response = client.get("/v1/conversations", params={"limit": limit}, headers=alice)
    assert response.status_code == 422
    assert "limit" in response.json()["error"]["message"]


@pytest.mark.parametrize("cursor", ["nope", "!!!", "eyJ4IjoxfQ", "WzEsMl0"])
def test_cursor_that_does_not_decode_is_a_validation_error(
    client: TestClient, alice: Headers, cursor: str
) -> None:
    for path in ("/v1/conversations", "/v1/mcp-configs"):
        response = client.get(path, params={"cursor": cursor}, headers=alice)
        assert response.status_code == 422
        assert "cursor" in response.json()["error"]["message"]


def _insert_messages(database_url: str, conversation_id: str, count: int) -> None:
    for n in range(1, count + 1):
        user = n % 2 == 0
        insert_message(
            database_url,
            conversation_id,
            role="user" if user else "assistant",
            content=f"message {n}",
            finish_reason=None if user else "stop",
        )


def test_messages_page_oldest_first(client: TestClient, alice: Headers, database_url: str) -> None:
    conv = _create(client, alice)
    _insert_messages(database_url, conv["id"], 7)
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get(
            f"/v1/conversations/{conv['id']}/messages", params=params, headers=alice
        ).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [m["content"] for m in seen] == [f"message {n}" for n in range(1, 8)]
    assert set(seen[0]) == {
        "id",
        "conversation_id",
        "parent_id",
        "sibling_ids",
        "role",
        "content",
        "tool_calls",
        "tool_results",
        "finish_reason",
        "model",
        "usage",
        "created_at",
    }


def test_messages_of_an_empty_conversation(client: TestClient, alice: Headers) -> None:
    conv = _create(client, alice)
    page = client.get(f"/v1/conversations/{conv['id']}/messages", headers=alice).json()
    assert page == {"items": [], "next_cursor": None}


def test_delete_takes_the_messages(client: TestClient, alice: Headers, database_url: str) -> None:
    conv = _create(client, alice)
    _insert_messages(database_url, conv["id"], 3)
    client.delete(f"/v1/conversations/{conv['id']}", headers=alice)
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM faceplate.messages").fetchone()
    assert row == (0,)


def test_unknown_route_has_the_error_body(client: TestClient, alice: Headers) -> None:
    response = client.get("/v1/nothing-here", headers=alice)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_wrong_method_has_the_error_body(client: TestClient, alice: Headers) -> None:
    response = client.put("/v1/conversations", headers=alice)
    assert response.status_code == 405
    assert set(response.json()["error"]) == {"code", "message"}


def test_nul_characters_are_stored_as_replacement_characters(
    client: TestClient, alice: Headers
) -> None:
    conv = _create(client, alice, title="a\u0000b")
    assert conv["title"] == "a\ufffdb"
