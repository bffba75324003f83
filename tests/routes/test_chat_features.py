"""Models, archive, search, branches and usage over the REST routes (CONTRACT §4, §5, §6)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from starlette.testclient import TestClient
from uuid6 import uuid7

from faceplate.app import create_app
from faceplate.settings import Settings
from tests.routes.helpers import Headers, assert_error, insert_message
from tests.support.app import bearer, dev_settings, dev_token

MODELS = ("small", "large", "huge")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return dev_settings(
        database_url, tmp_path / "data", llm_models=MODELS, limit_tokens_per_day=1000
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def bob(settings: Settings) -> Headers:
    return bearer(dev_token(settings, "bob@example.com"))


def _create(client: TestClient, headers: Headers, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/conversations", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _items(client: TestClient, headers: Headers, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/conversations", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


# --- models ---------------------------------------------------------------------------------


def test_models_lists_the_offered_models_the_first_the_default(
    client: TestClient, alice: Headers
) -> None:
    response = client.get("/v1/models", headers=alice)
    assert response.json() == {
        "models": [
            {"id": "small", "default": True},
            {"id": "large", "default": False},
            {"id": "huge", "default": False},
        ]
    }


def test_models_needs_a_token(client: TestClient) -> None:
    assert_error(client.get("/v1/models"), 401, "unauthorized")


def test_a_conversation_keeps_the_model_it_is_given(client: TestClient, alice: Headers) -> None:
    conv = _create(client, alice, model="large")
    assert conv["model"] == "large"
    patched = client.patch(f"/v1/conversations/{conv['id']}", json={"model": "huge"}, headers=alice)
    assert patched.json()["model"] == "huge"
    assert patched.json()["updated_at"] == conv["updated_at"]
    reset = client.patch(f"/v1/conversations/{conv['id']}", json={"model": None}, headers=alice)
    assert reset.json()["model"] is None
    assert client.get(f"/v1/conversations/{conv['id']}", headers=alice).json()["model"] is None


@pytest.mark.parametrize("model", ["tiny", "", "x" * 300, 7])
def test_an_unknown_model_is_refused(client: TestClient, alice: Headers, model: Any) -> None:
    message = assert_error(
        client.post("/v1/conversations", json={"model": model}, headers=alice),
        422,
        "validation_error",
    )
    assert "model" in message
    conv = _create(client, alice, model="small")
    message = assert_error(
        client.patch(f"/v1/conversations/{conv['id']}", json={"model": model}, headers=alice),
        422,
        "validation_error",
    )
    assert "model" in message
    assert client.get(f"/v1/conversations/{conv['id']}", headers=alice).json()["model"] == "small"


# --- archive --------------------------------------------------------------------------------


def test_archived_conversations_are_listed_apart(client: TestClient, alice: Headers) -> None:
    kept, archived = _create(client, alice, title="kept"), _create(client, alice, title="old")
    response = client.patch(
        f"/v1/conversations/{archived['id']}", json={"archived": True}, headers=alice
    )
    assert response.json()["archived"] is True
    assert [c["id"] for c in _items(client, alice)] == [kept["id"]]
    assert [c["id"] for c in _items(client, alice, archived="true")] == [archived["id"]]
    assert [c["id"] for c in _items(client, alice, archived="false")] == [kept["id"]]
    client.patch(f"/v1/conversations/{archived['id']}", json={"archived": False}, headers=alice)
    assert {c["id"] for c in _items(client, alice)} == {kept["id"], archived["id"]}
    assert _items(client, alice, archived="true") == []


@pytest.mark.parametrize("value", ["yes", "1", "TRUE", ""])
def test_archived_must_be_true_or_false(client: TestClient, alice: Headers, value: str) -> None:
    response = client.get("/v1/conversations", params={"archived": value}, headers=alice)
    assert "archived" in assert_error(response, 422, "validation_error")


# --- search ---------------------------------------------------------------------------------


def _conversation_saying(
    client: TestClient, headers: Headers, database_url: str, *texts: str, title: str | None = None
) -> str:
    conv = _create(client, headers, title=title)
    for n, text in enumerate(texts):
        role = "user" if n % 2 == 0 else "assistant"
        insert_message(
            database_url,
            conv["id"],
            role=role,
            content=text,
            finish_reason="stop" if role == "assistant" else None,
        )
    return str(conv["id"])


def _search(client: TestClient, headers: Headers, q: str, **params: Any) -> list[dict[str, Any]]:
    return _items(client, headers, q=q, **params)


def test_search_finds_words_phrases_and_leaves_out_minus_terms(
    client: TestClient, alice: Headers, database_url: str
) -> None:
    zebras = _conversation_saying(
        client, alice, database_url, "tell me about zebras", "They are striped horses."
    )
    penguins = _conversation_saying(
        client, alice, database_url, "and penguins?", "Tuxedo birds, mostly in the south."
    )
    both = _conversation_saying(
        client, alice, database_url, "zebras or penguins", "Both are black and white."
    )
    assert {c["id"] for c in _search(client, alice, "zebras")} == {zebras, both}
    assert [c["id"] for c in _search(client, alice, '"striped horses"')] == [zebras]
    assert _search(client, alice, '"horses striped"') == []
    assert [c["id"] for c in _search(client, alice, "zebras -penguins")] == [zebras]
    assert {c["id"] for c in _search(client, alice, "striped or tuxedo")} == {zebras, penguins}
    (hit,) = _search(client, alice, "TUXEDO")
    assert "Tuxedo birds" in hit["snippet"]
    assert set(hit) == {
        "id",
        "title",
        "model",
        "archived",
        "active_message_id",
        "created_at",
        "updated_at",
        "snippet",
    }
    assert "snippet" not in _items(client, alice)[0]


def test_search_matches_titles_and_text_in_any_language(
    client: TestClient, alice: Headers, database_url: str
) -> None:
    titled = _conversation_saying(client, alice, database_url, "hello", title="Reise nach Köln")
    greek = _conversation_saying(client, alice, database_url, "καλημέρα κόσμε")
    japanese = _conversation_saying(client, alice, database_url, "東京 の 天気")
    (hit,) = _search(client, alice, "köln")
    assert (hit["id"], hit["snippet"]) == (titled, "Reise nach Köln")
    assert [c["id"] for c in _search(client, alice, "ΚΑΛΗΜΈΡΑ")] == [greek]
    assert [c["id"] for c in _search(client, alice, "東京")] == [japanese]


def test_search_never_finds_another_users_text(
    client: TestClient, alice: Headers, bob: Headers, database_url: str
) -> None:
    _conversation_saying(client, bob, database_url, "the secret word is xylophone")
    assert _search(client, alice, "xylophone") == []
    assert len(_search(client, bob, "xylophone")) == 1


def test_search_pages_newest_first_and_keeps_archived_apart(
    client: TestClient, alice: Headers, database_url: str
) -> None:
    ids = [_conversation_saying(client, alice, database_url, f"kiwi number {n}") for n in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"q": "kiwi", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/conversations", params=params, headers=alice).json()
        seen.extend(c["id"] for c in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    client.patch(f"/v1/conversations/{ids[0]}", json={"archived": True}, headers=alice)
    assert ids[0] not in {c["id"] for c in _search(client, alice, "kiwi")}
    assert [c["id"] for c in _search(client, alice, "kiwi", archived="true")] == [ids[0]]


def test_search_takes_any_text_without_failing(
    client: TestClient, alice: Headers, database_url: str
) -> None:
    _conversation_saying(client, alice, database_url, "plain words")
    for q in ['"', "-", "or", "!!! ???", "a & b | c", "(", "\x00 words", "' OR 1=1 --"]:
        response = client.get("/v1/conversations", params={"q": q}, headers=alice)
        assert response.status_code == 200, (q, response.text)
    assert len(_search(client, alice, "   ")) == 1  # blank: the plain list


def test_a_long_search_is_refused(client: TestClient, alice: Headers) -> None:
    response = client.get("/v1/conversations", params={"q": "a" * 1001}, headers=alice)
    assert "q" in assert_error(response, 422, "validation_error")


# --- branches -------------------------------------------------------------------------------


def _add(
    database_url: str, conversation_id: str, parent_id: UUID | None, content: str, role: str
) -> UUID:
    """A message under `parent_id` (a new root when None), made the active leaf."""
    message_id = uuid7()
    with psycopg.connect(database_url) as conn:
        depth = 0
        if parent_id is not None:
            row = conn.execute(
                "SELECT depth + 1 FROM faceplate.messages WHERE id = %s", (parent_id,)
            ).fetchone()
            assert row is not None
            depth = row[0]
        conn.execute(
            "INSERT INTO faceplate.messages"
            " (id, conversation_id, parent_id, depth, role, content, finish_reason)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                message_id,
                UUID(conversation_id),
                parent_id,
                depth,
                role,
                content,
                "stop" if role == "assistant" else None,
            ),
        )
        conn.execute(
            "UPDATE faceplate.conversations SET active_message_id = %s WHERE id = %s",
            (message_id, UUID(conversation_id)),
        )
    return message_id


def _branch(client: TestClient, headers: Headers, conversation_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/conversations/{conversation_id}/messages", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _tree(database_url: str, conversation_id: str) -> dict[str, UUID]:
    """q1 → a1 → q2 → {a2, a2'}, and q1 → {a1, a1'} → q2'"""
    q1 = _add(database_url, conversation_id, None, "q1", "user")
    a1 = _add(database_url, conversation_id, q1, "a1", "assistant")
    q2 = _add(database_url, conversation_id, a1, "q2", "user")
    a2 = _add(database_url, conversation_id, q2, "a2", "assistant")
    a2b = _add(database_url, conversation_id, q2, "a2'", "assistant")
    a1b = _add(database_url, conversation_id, q1, "a1'", "assistant")
    q2b = _add(database_url, conversation_id, a1b, "q2'", "user")
    return {"q1": q1, "a1": a1, "q2": q2, "a2": a2, "a2'": a2b, "a1'": a1b, "q2'": q2b}


def test_messages_are_the_active_branch_with_their_siblings(
    client: TestClient, alice: Headers, database_url: str
) -> None:
    conv = _create(client, alice)
    ids = {k: str(v) for k, v in _tree(database_url, conv["id"]).items()}
    branch = _branch(client, alice, conv["id"])
    assert [m["content"] for m in branch] == ["q1", "a1'", "q2'"]
    assert [m["parent_id"] for m in branch] == [None, ids["q1"], ids["a1'"]]
    assert [m["sibling_ids"] for m in branch] == [
        [ids["q1"]],
        [ids["a1"], ids["a1'"]],
        [ids["q2'"]],
    ]
    got = client.get(f"/v1/conversations/{conv['id']}", headers=alice).json()
    assert got["active_message_id"] == ids["q2'"]


def test_put_active_switches_to_the_newest_leaf_under_a_message(
    client: TestClient, alice: Headers, database_url: str
) -> None:
    conv = _create(client, alice)
    ids = {k: str(v) for k, v in _tree(database_url, conv["id"]).items()}
    before = client.get(f"/v1/conversations/{conv['id']}", headers=alice).json()
    response = client.put(
        f"/v1/conversations/{conv['id']}/active", json={"message_id": ids["a1"]}, headers=alice
    )
    assert response.status_code == 200, response.text
    assert response.json()["active_message_id"] == ids["a2'"]
    assert response.json()["updated_at"] == before["updated_at"]
    branch = _branch(client, alice, conv["id"])
    assert [m["content"] for m in branch] == ["q1", "a1", "q2", "a2'"]
    assert branch[3]["sibling_ids"] == [ids["a2"], ids["a2'"]]
    client.put(
        f"/v1/conversations/{conv['id']}/active", json={"message_id": ids["a2"]}, headers=alice
    )
    assert [m["content"] for m in _branch(client, alice, conv["id"])] == ["q1", "a1", "q2", "a2"]


def test_put_active_with_a_message_not_in_the_conversation_is_404(
    client: TestClient, alice: Headers, bob: Headers, database_url: str
) -> None:
    conv, other = _create(client, alice), _create(client, alice)
    ids = _tree(database_url, conv["id"])
    path = f"/v1/conversations/{other['id']}/active"
    response = client.put(path, json={"message_id": str(ids["q1"])}, headers=alice)
    assert "message" in assert_error(response, 404, "not_found")
    mine = f"/v1/conversations/{conv['id']}/active"
    response = client.put(mine, json={"message_id": str(ids["q1"])}, headers=bob)
    assert "conversation" in assert_error(response, 404, "not_found")
    assert_error(
        client.put(mine, json={"message_id": "nope"}, headers=alice), 422, "validation_error"
    )
    assert_error(client.put(mine, json={}, headers=alice), 422, "validation_error")


def test_a_long_branch_pages_root_first(
    client: TestClient, alice: Headers, database_url: str
) -> None:
    conv = _create(client, alice)
    parent: UUID | None = None
    for n in range(7):
        parent = _add(
            database_url, conv["id"], parent, f"m{n}", "user" if n % 2 == 0 else "assistant"
        )
        if n == 3:
            fork = parent
    _add(database_url, conv["id"], fork, "side", "user")
    client.put(
        f"/v1/conversations/{conv['id']}/active", json={"message_id": str(parent)}, headers=alice
    )
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get(
            f"/v1/conversations/{conv['id']}/messages", params=params, headers=alice
        ).json()
        seen.extend(m["content"] for m in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"m{n}" for n in range(7)]


@pytest.mark.parametrize("cursor", ["LTE", "OTk5OTk5OTk5OTk5", "bm90IGEgbnVtYmVy"])
def test_a_message_cursor_that_is_no_depth_is_refused(
    client: TestClient, alice: Headers, cursor: str
) -> None:
    conv = _create(client, alice)
    response = client.get(
        f"/v1/conversations/{conv['id']}/messages", params={"cursor": cursor}, headers=alice
    )
    assert "cursor" in assert_error(response, 422, "validation_error")


# --- usage ----------------------------------------------------------------------------------


def _spend(database_url: str, email: str, day: str, model: str, tokens: tuple[int, int]) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO faceplate.token_usage (user_id, day, model, input_tokens, output_tokens)"
            " SELECT u.id, %s::date, %s, %s, %s FROM faceplate.users AS u WHERE u.email = %s",
            (day, model, *tokens, email),
        )


def test_usage_sums_per_day_and_model(
    client: TestClient, alice: Headers, database_url: str
) -> None:
    client.get("/v1/me", headers=alice)
    today = datetime.now(UTC).date()
    long_ago = (today - timedelta(days=40)).isoformat()
    yesterday = (today - timedelta(days=1)).isoformat()
    _spend(database_url, "alice@example.com", long_ago, "small", (5, 5))
    _spend(database_url, "alice@example.com", yesterday, "small", (100, 20))
    _spend(database_url, "alice@example.com", yesterday, "large", (7, 3))
    _spend(database_url, "alice@example.com", today.isoformat(), "small", (40, 2))
    report = client.get("/v1/me/usage", headers=alice).json()
    assert report == {
        "days": [
            {"date": yesterday, "model": "large", "input_tokens": 7, "output_tokens": 3},
            {"date": yesterday, "model": "small", "input_tokens": 100, "output_tokens": 20},
            {"date": today.isoformat(), "model": "small", "input_tokens": 40, "output_tokens": 2},
        ],
        "limit_per_day": 1000,
        "used_today": 42,
    }
    ranged = client.get(
        "/v1/me/usage", params={"from": long_ago, "to": long_ago}, headers=alice
    ).json()
    assert [d["input_tokens"] for d in ranged["days"]] == [5]


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-13-01"},
        {"to": "yesterday"},
        {"from": "20260101"},
        {"from": "2026-02-02", "to": "2026-02-01"},
        {"from": "2024-01-01", "to": "2025-01-01"},
    ],
)
def test_usage_refuses_bad_days(client: TestClient, alice: Headers, params: dict[str, str]) -> None:
    assert_error(client.get("/v1/me/usage", params=params, headers=alice), 422, "validation_error")


def test_usage_of_a_whole_leap_year_is_fine(client: TestClient, alice: Headers) -> None:
    params = {"from": "2024-01-01", "to": "2024-12-31"}
    response = client.get("/v1/me/usage", params=params, headers=alice)
    assert response.json() == {"days": [], "limit_per_day": 1000, "used_today": 0}


def test_put_active_while_a_turn_runs_on_another_instance_is_409(
    client: TestClient, alice: Headers, bob: Headers, database_url: str
) -> None:
    conv = _create(client, alice)
    ids = {k: str(v) for k, v in _tree(database_url, conv["id"]).items()}
    before = client.get(f"/v1/conversations/{conv['id']}", headers=alice).json()
    # Another instance's running turn is only its row in the turns table.
    with psycopg.connect(database_url) as db:
        db.execute(
            "INSERT INTO faceplate.turns (id, conversation_id, user_id, instance_id,"
            " lease_expires_at) SELECT %s, c.id, c.user_id, 'elsewhere', now() + interval '1 min'"
            " FROM faceplate.conversations AS c WHERE c.id = %s",
            (uuid7(), UUID(conv["id"])),
        )
    path = f"/v1/conversations/{conv['id']}/active"
    response = client.put(path, json={"message_id": ids["a1"]}, headers=alice)
    assert_error(response, 409, "conflict")
    assert_error(client.put(path, json={"message_id": ids["a1"]}, headers=bob), 404, "not_found")
    after = client.get(f"/v1/conversations/{conv['id']}", headers=alice).json()
    assert after["active_message_id"] == before["active_message_id"]
    with psycopg.connect(database_url) as db:
        db.execute("UPDATE faceplate.turns SET status = 'completed', ended_at = now()")
    assert client.put(path, json={"message_id": ids["a1"]}, headers=alice).status_code == 200
