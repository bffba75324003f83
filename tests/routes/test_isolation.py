"""One user never sees, changes or learns of another user's conversations and MCP configs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.routes.helpers import Headers, assert_error, insert_message


@dataclass(frozen=True)
class AliceData:
    conversation_id: str
    config_id: str


@pytest.fixture
def alice_data(client: TestClient, alice: Headers, database_url: str) -> AliceData:
    conv = client.post("/v1/conversations", json={"title": "Private plans"}, headers=alice)
    assert conv.status_code == 201, conv.text
    conversation_id = conv.json()["id"]
    insert_message(database_url, conversation_id, role="user", content="What is 2 + 2?")
    insert_message(
        database_url,
        conversation_id,
        role="assistant",
        content="",
        tool_calls=[{"id": "call_1", "name": "calc__add", "arguments": {"a": 2, "b": 2}}],
        finish_reason="tool_calls",
    )
    insert_message(
        database_url,
        conversation_id,
        role="tool",
        content="",
        tool_results=[
            {
                "tool_call_id": "call_1",
                "name": "calc__add",
                "is_error": False,
                "content": [{"type": "text", "text": "4"}],
                "duration_ms": 3,
            }
        ],
    )
    insert_message(
        database_url, conversation_id, role="assistant", content="4.", finish_reason="stop"
    )
    config = client.post(
        "/v1/mcp-configs",
        json={
            "name": "calc",
            "config": {
                "transport": "streamable_http",
                "url": "https://mcp.example.com/mcp",
                "headers": {"Authorization": "Bearer alice-secret"},
            },
        },
        headers=alice,
    )
    assert config.status_code == 201, config.text
    return AliceData(conversation_id=conversation_id, config_id=config.json()["id"])


def _snapshot(client: TestClient, alice: Headers, data: AliceData) -> dict[str, Any]:
    paths = [
        f"/v1/conversations/{data.conversation_id}",
        f"/v1/conversations/{data.conversation_id}/messages",
        "/v1/conversations",
        f"/v1/mcp-configs/{data.config_id}",
        "/v1/mcp-configs",
    ]
    snapshot: dict[str, Any] = {}
    for path in paths:
        response = client.get(path, headers=alice)
        assert response.status_code == 200, response.text
        snapshot[path] = response.json()
    return snapshot


def test_alice_sees_her_own_data(client: TestClient, alice: Headers, alice_data: AliceData) -> None:
    snapshot = _snapshot(client, alice, alice_data)
    messages = snapshot[f"/v1/conversations/{alice_data.conversation_id}/messages"]["items"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert snapshot[f"/v1/mcp-configs/{alice_data.config_id}"]["name"] == "calc"


BOB_REQUESTS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "get conversation": ("GET", "/v1/conversations/{conv}", None),
    "rename conversation": ("PATCH", "/v1/conversations/{conv}", {"title": "mine now"}),
    "clear conversation title": ("PATCH", "/v1/conversations/{conv}", {"title": None}),
    "delete conversation": ("DELETE", "/v1/conversations/{conv}", None),
    "list messages": ("GET", "/v1/conversations/{conv}/messages", None),
    "list messages with a limit": ("GET", "/v1/conversations/{conv}/messages?limit=1", None),
    "get config": ("GET", "/v1/mcp-configs/{config}", None),
    "rename config": ("PATCH", "/v1/mcp-configs/{config}", {"name": "stolen"}),
    "disable config": ("PATCH", "/v1/mcp-configs/{config}", {"enabled": False}),
    "repoint config": (
        "PATCH",
        "/v1/mcp-configs/{config}",
        {"config": {"transport": "sse", "url": "https://evil.example.com/sse"}},
    ),
    "delete config": ("DELETE", "/v1/mcp-configs/{config}", None),
    "list config tools": ("GET", "/v1/mcp-configs/{config}/tools", None),
}


def _bob_request(
    client: TestClient, bob: Headers, data: AliceData, request: tuple[str, str, Any]
) -> httpx.Response:
    method, template, body = request
    path = template.format(conv=data.conversation_id, config=data.config_id)
    return client.request(method, path, json=body, headers=bob)


@pytest.mark.parametrize("request_", BOB_REQUESTS.values(), ids=BOB_REQUESTS.keys())
def test_other_users_resource_is_not_found(
    client: TestClient,
    bob: Headers,
    alice_data: AliceData,
    request_: tuple[str, str, dict[str, Any] | None],
) -> None:
    assert_error(_bob_request(client, bob, alice_data, request_), 404, "not_found")


@pytest.mark.parametrize("request_", BOB_REQUESTS.values(), ids=BOB_REQUESTS.keys())
def test_other_users_request_changes_nothing(
    client: TestClient,
    alice: Headers,
    bob: Headers,
    alice_data: AliceData,
    request_: tuple[str, str, dict[str, Any] | None],
) -> None:
    before = _snapshot(client, alice, alice_data)
    _bob_request(client, bob, alice_data, request_)
    assert _snapshot(client, alice, alice_data) == before


def test_not_found_for_another_user_reads_like_no_such_resource(
    client: TestClient, bob: Headers, alice_data: AliceData
) -> None:
    theirs = client.get(f"/v1/conversations/{alice_data.conversation_id}", headers=bob)
    missing = client.get("/v1/conversations/0190a000-0000-7000-8000-000000000000", headers=bob)
    assert theirs.json() == missing.json()


@pytest.mark.parametrize("path", ["/v1/conversations", "/v1/mcp-configs"])
def test_other_users_lists_are_empty(
    client: TestClient, bob: Headers, alice_data: AliceData, path: str
) -> None:
    response = client.get(path, headers=bob)
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": None}


def test_same_config_name_for_another_user_does_not_touch_the_first(
    client: TestClient, alice: Headers, bob: Headers, alice_data: AliceData
) -> None:
    before = _snapshot(client, alice, alice_data)
    body = {"name": "calc", "config": {"transport": "sse", "url": "https://bob.example.com/sse"}}
    assert client.post("/v1/mcp-configs", json=body, headers=bob).status_code == 201
    assert _snapshot(client, alice, alice_data) == before
