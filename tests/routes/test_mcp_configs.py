"""MCP server configs over HTTP: transports, secrets at rest and on the wire, checks, paging."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import msgspec
import pytest
from starlette.testclient import TestClient

from faceplate.app import create_app
from faceplate.secrets import SecretBox, load_or_create_key
from faceplate.settings import Settings
from faceplate.structs import McpServerConfig
from tests.mcp_client.stdio_support import write_servers
from tests.routes.helpers import Headers, assert_error, stored_config
from tests.support.app import dev_settings

REDACTED = "********"
HEADER_SECRET = "Bearer hdr-s3cret-0f9a"
OTHER_HEADER_SECRET = "key-s3cret-77c1"
ENV_SECRET = "env-s3cret-5b2e"

HTTP_CONFIG: dict[str, Any] = {
    "transport": "streamable_http",
    "url": "https://mcp.example.com/mcp",
    "headers": {"Authorization": HEADER_SECRET, "X-Api-Key": OTHER_HEADER_SECRET},
}
SSE_CONFIG: dict[str, Any] = {
    "transport": "sse",
    "url": "https://mcp.example.com/sse",
    "headers": {"Authorization": HEADER_SECRET, "X-Api-Key": OTHER_HEADER_SECRET},
}
STDIO_CONFIG: dict[str, Any] = {
    "transport": "stdio",
    "command": "python3",
    "args": ["-m", "some_mcp_server", "--verbose"],
    "env": {"API_TOKEN": ENV_SECRET, "OTHER_TOKEN": OTHER_HEADER_SECRET},
}
# The operator's entry that STDIO_CONFIG matches.
STDIO_SERVER: dict[str, Any] = {
    "command": "python3",
    "args": ["-m", "some_mcp_server", "--verbose"],
    "env": ["API_TOKEN", "OTHER_TOKEN"],
}
CONFIGS = {"streamable_http": HTTP_CONFIG, "sse": SSE_CONFIG, "stdio": STDIO_CONFIG}
SECRETS = (HEADER_SECRET, OTHER_HEADER_SECRET, ENV_SECRET)

ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(settings: Settings) -> Iterator[ClientFactory]:
    """Another app on the same database and data dir, with some settings changed."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> TestClient:
            assert settings.database_url is not None
            changed = dev_settings(settings.database_url, settings.data_dir, **overrides)
            return stack.enter_context(TestClient(create_app(changed)))

        yield make


@pytest.fixture
def servers_file(tmp_path: Path) -> Path:
    return write_servers(tmp_path / "servers.json", [STDIO_SERVER])


@pytest.fixture
def stdio_client(make_client: ClientFactory, servers_file: Path) -> TestClient:
    return make_client(mcp_stdio_servers=servers_file)


@pytest.fixture
def strict_client(make_client: ClientFactory) -> TestClient:
    return make_client(mcp_allow_private=False)


def _create(
    client: TestClient, headers: Headers, name: str, config: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    response = client.post(
        "/v1/mcp-configs", json={"name": name, "config": config, **extra}, headers=headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _redacted(config: dict[str, Any]) -> dict[str, Any]:
    field = "env" if config["transport"] == "stdio" else "headers"
    return {**config, field: dict.fromkeys(config[field], REDACTED)}


def _clear_secrets(settings: Settings, database_url: str, config_id: str) -> dict[str, str]:
    """The stored secret values of a config, decrypted with the data dir's key."""
    sealed = msgspec.convert(stored_config(database_url, config_id), McpServerConfig)
    opened = msgspec.to_builtins(SecretBox(load_or_create_key(settings.data_dir)).open(sealed))
    secrets: dict[str, str] = opened.get("env") or opened.get("headers") or {}
    return secrets


# --- the three transports -----------------------------------------------------------------------


@pytest.mark.parametrize("transport", CONFIGS)
def test_create_shows_every_secret_value_redacted(
    stdio_client: TestClient, alice: Headers, transport: str
) -> None:
    created = _create(stdio_client, alice, "server", CONFIGS[transport])
    assert set(created) == {
        "id",
        "name",
        "config",
        "enabled",
        "tool_approval",
        "tool_policies",
        "oauth",
        "created_at",
        "updated_at",
    }
    assert created["oauth"] is None
    assert created["name"] == "server"
    assert created["enabled"] is True
    assert created["config"] == _redacted(CONFIGS[transport])


@pytest.mark.parametrize("transport", CONFIGS)
def test_get_and_list_show_every_secret_value_redacted(
    stdio_client: TestClient, alice: Headers, transport: str
) -> None:
    created = _create(stdio_client, alice, "server", CONFIGS[transport])
    one = stdio_client.get(f"/v1/mcp-configs/{created['id']}", headers=alice).json()
    listed = stdio_client.get("/v1/mcp-configs", headers=alice).json()
    assert one == created
    assert listed == {"items": [created], "next_cursor": None}


@pytest.mark.parametrize("transport", CONFIGS)
def test_stored_config_holds_no_secret_value_in_clear(
    stdio_client: TestClient, alice: Headers, database_url: str, transport: str
) -> None:
    created = _create(stdio_client, alice, "server", CONFIGS[transport])
    raw = json.dumps(stored_config(database_url, created["id"]))
    for secret in SECRETS:
        assert secret not in raw
    assert REDACTED not in raw


@pytest.mark.parametrize("transport", CONFIGS)
def test_stored_secret_values_decrypt_to_what_was_sent(
    stdio_client: TestClient,
    alice: Headers,
    settings: Settings,
    database_url: str,
    transport: str,
) -> None:
    config = CONFIGS[transport]
    created = _create(stdio_client, alice, "server", config)
    field = "env" if transport == "stdio" else "headers"
    assert _clear_secrets(settings, database_url, created["id"]) == config[field]


def test_config_without_headers_has_empty_headers(client: TestClient, alice: Headers) -> None:
    config = {"transport": "sse", "url": "https://mcp.example.com/sse"}
    assert _create(client, alice, "plain", config)["config"] == {**config, "headers": {}}


# --- PATCH and the redacted placeholder ---------------------------------------------------------


def test_patch_with_the_placeholder_keeps_the_stored_value(
    client: TestClient, alice: Headers, settings: Settings, database_url: str
) -> None:
    created = _create(client, alice, "server", HTTP_CONFIG)
    patch = {"config": {**HTTP_CONFIG, "headers": dict.fromkeys(HTTP_CONFIG["headers"], REDACTED)}}
    response = client.patch(f"/v1/mcp-configs/{created['id']}", json=patch, headers=alice)
    assert response.status_code == 200, response.text
    assert _clear_secrets(settings, database_url, created["id"]) == HTTP_CONFIG["headers"]


def test_patch_with_a_new_value_replaces_the_stored_value(
    client: TestClient, alice: Headers, settings: Settings, database_url: str
) -> None:
    created = _create(client, alice, "server", HTTP_CONFIG)
    headers = {"Authorization": REDACTED, "X-Api-Key": "rotated-key-value"}
    patch = {"config": {**HTTP_CONFIG, "headers": headers}}
    response = client.patch(f"/v1/mcp-configs/{created['id']}", json=patch, headers=alice)
    assert response.status_code == 200, response.text
    assert response.json()["config"]["headers"] == dict.fromkeys(headers, REDACTED)
    assert _clear_secrets(settings, database_url, created["id"]) == {
        "Authorization": HEADER_SECRET,
        "X-Api-Key": "rotated-key-value",
    }


def test_patch_that_leaves_out_a_header_drops_it(
    client: TestClient, alice: Headers, settings: Settings, database_url: str
) -> None:
    created = _create(client, alice, "server", HTTP_CONFIG)
    patch = {"config": {**HTTP_CONFIG, "headers": {"Authorization": REDACTED}}}
    response = client.patch(f"/v1/mcp-configs/{created['id']}", json=patch, headers=alice)
    assert response.status_code == 200, response.text
    assert _clear_secrets(settings, database_url, created["id"]) == {"Authorization": HEADER_SECRET}


def test_patch_of_stdio_env_with_the_placeholder_keeps_the_stored_value(
    stdio_client: TestClient, alice: Headers, settings: Settings, database_url: str
) -> None:
    created = _create(stdio_client, alice, "server", STDIO_CONFIG)
    env = {"API_TOKEN": REDACTED, "OTHER_TOKEN": "new-other"}
    patch = {"config": {**STDIO_CONFIG, "env": env}}
    response = stdio_client.patch(f"/v1/mcp-configs/{created['id']}", json=patch, headers=alice)
    assert response.status_code == 200, response.text
    assert _clear_secrets(settings, database_url, created["id"]) == {
        "API_TOKEN": ENV_SECRET,
        "OTHER_TOKEN": "new-other",
    }


def test_patch_of_name_only_keeps_config_and_secrets(
    client: TestClient, alice: Headers, settings: Settings, database_url: str
) -> None:
    created = _create(client, alice, "server", HTTP_CONFIG)
    response = client.patch(
        f"/v1/mcp-configs/{created['id']}", json={"name": "renamed"}, headers=alice
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {**created, "name": "renamed", "updated_at": body["updated_at"]}
    assert _clear_secrets(settings, database_url, created["id"]) == HTTP_CONFIG["headers"]


# --- names --------------------------------------------------------------------------------------


def test_duplicate_name_is_a_conflict(client: TestClient, alice: Headers) -> None:
    _create(client, alice, "server", HTTP_CONFIG)
    response = client.post(
        "/v1/mcp-configs", json={"name": "server", "config": SSE_CONFIG}, headers=alice
    )
    assert_error(response, 409, "conflict")


def test_rename_onto_a_taken_name_is_a_conflict(client: TestClient, alice: Headers) -> None:
    _create(client, alice, "first", HTTP_CONFIG)
    second = _create(client, alice, "second", HTTP_CONFIG)
    response = client.patch(
        f"/v1/mcp-configs/{second['id']}", json={"name": "first"}, headers=alice
    )
    assert_error(response, 409, "conflict")


def test_same_name_for_another_user_is_fine(
    client: TestClient, alice: Headers, bob: Headers
) -> None:
    _create(client, alice, "server", HTTP_CONFIG)
    assert _create(client, bob, "server", HTTP_CONFIG)["name"] == "server"


@pytest.mark.parametrize("name", ["", "x" * 101], ids=["empty", "101 chars"])
def test_name_out_of_bounds_is_a_validation_error_naming_it(
    client: TestClient, alice: Headers, name: str
) -> None:
    response = client.post(
        "/v1/mcp-configs", json={"name": name, "config": HTTP_CONFIG}, headers=alice
    )
    assert "name" in assert_error(response, 422, "validation_error")


@pytest.mark.parametrize("name", ["", "x" * 101], ids=["empty", "101 chars"])
def test_rename_out_of_bounds_is_a_validation_error_naming_it(
    client: TestClient, alice: Headers, name: str
) -> None:
    created = _create(client, alice, "server", HTTP_CONFIG)
    response = client.patch(f"/v1/mcp-configs/{created['id']}", json={"name": name}, headers=alice)
    assert "name" in assert_error(response, 422, "validation_error")


def test_name_of_100_chars_is_accepted(client: TestClient, alice: Headers) -> None:
    assert _create(client, alice, "é" * 100, HTTP_CONFIG)["name"] == "é" * 100


# --- what may be connected to -------------------------------------------------------------------


REFUSED_STDIO = [
    ({"command": "sh"}, "config.command"),
    ({"command": "/usr/bin/python3"}, "config.command"),
    ({"args": ["-m", "some_mcp_server"]}, "config.args"),
    ({"args": ["-m", "some_mcp_server", "--verbose", "-c", "import os"]}, "config.args"),
    ({"args": []}, "config.args"),
    ({"env": {"API_TOKEN": "x", "EXTRA_KEY": "y"}}, "config.env.EXTRA_KEY"),
    ({"env": {"LD_PRELOAD": "/tmp/evil.so"}}, "config.env.LD_PRELOAD"),
    ({"env": {"NODE_OPTIONS": "--require /tmp/x.js"}}, "config.env.NODE_OPTIONS"),
    ({"env": {"PYTHONSTARTUP": "/tmp/x.py"}}, "config.env.PYTHONSTARTUP"),
    ({"env": {"npm_config_registry": "https://evil.example"}}, "config.env.npm_config_registry"),
    ({"env": {"PATH": "/tmp"}}, "config.env.PATH"),
    ({"env": {"API_TOKEN": "with\u0000nul"}}, "config.env.API_TOKEN"),
]


@pytest.mark.parametrize(("change", "field"), REFUSED_STDIO)
def test_stdio_config_unlike_every_offered_server_is_a_422_naming_the_field(
    stdio_client: TestClient, alice: Headers, change: dict[str, Any], field: str
) -> None:
    config = {**STDIO_CONFIG, **change}
    response = stdio_client.post(
        "/v1/mcp-configs", json={"name": "stdio", "config": config}, headers=alice
    )
    assert assert_error(response, 422, "validation_error").startswith(f"{field}: ")
    assert stdio_client.get("/v1/mcp-configs", headers=alice).json()["items"] == []


@pytest.mark.parametrize(("change", "field"), REFUSED_STDIO[:3])
def test_patch_onto_a_stdio_server_not_offered_is_a_422_naming_the_field(
    stdio_client: TestClient, alice: Headers, change: dict[str, Any], field: str
) -> None:
    created = _create(stdio_client, alice, "stdio", STDIO_CONFIG)
    patch = {"config": {**STDIO_CONFIG, **change}}
    response = stdio_client.patch(f"/v1/mcp-configs/{created['id']}", json=patch, headers=alice)
    assert assert_error(response, 422, "validation_error").startswith(f"{field}: ")
    assert stdio_client.get(f"/v1/mcp-configs/{created['id']}", headers=alice).json() == created


def test_stdio_config_with_some_of_the_offered_env_keys_is_accepted(
    stdio_client: TestClient, alice: Headers
) -> None:
    config = {**STDIO_CONFIG, "env": {"OTHER_TOKEN": "t"}}
    assert _create(stdio_client, alice, "stdio", config)["config"]["env"] == {
        "OTHER_TOKEN": REDACTED
    }


def test_stdio_is_refused_when_no_servers_file_is_set(client: TestClient, alice: Headers) -> None:
    response = client.post(
        "/v1/mcp-configs", json={"name": "py", "config": STDIO_CONFIG}, headers=alice
    )
    assert assert_error(response, 422, "validation_error").startswith("config.command: ")


def test_a_stored_stdio_config_is_checked_again_when_it_connects(
    stdio_client: TestClient, alice: Headers, make_client: ClientFactory, tmp_path: Path
) -> None:
    created = _create(stdio_client, alice, "stdio", STDIO_CONFIG)
    narrower = {**STDIO_SERVER, "env": ["API_TOKEN"]}
    restarted = make_client(mcp_stdio_servers=write_servers(tmp_path / "narrower.json", [narrower]))

    response = restarted.get(f"/v1/mcp-configs/{created['id']}/tools", headers=alice)

    message = assert_error(response, 502, "upstream_error")
    assert message.startswith("config.env.OTHER_TOKEN: ")


PRIVATE_URLS = [
    "http://127.0.0.1:8000/mcp",
    "http://localhost:8000/mcp",
    "http://10.0.0.1/mcp",
    "http://[::1]:8000/mcp",
    "http://169.254.169.254/latest/meta-data/",
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_url_is_refused_when_private_addresses_are_not_allowed(
    strict_client: TestClient, alice: Headers, url: str
) -> None:
    config = {"transport": "streamable_http", "url": url}
    response = strict_client.post(
        "/v1/mcp-configs", json={"name": "local", "config": config}, headers=alice
    )
    assert_error(response, 422, "validation_error")


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_patch_to_a_private_url_is_refused_when_private_addresses_are_not_allowed(
    strict_client: TestClient, alice: Headers, url: str
) -> None:
    # A public IP literal: a host name would be resolved, and this test needs no DNS.
    created = _create(strict_client, alice, "remote", {**SSE_CONFIG, "url": "https://1.1.1.1/sse"})
    patch = {"config": {"transport": "sse", "url": url}}
    response = strict_client.patch(f"/v1/mcp-configs/{created['id']}", json=patch, headers=alice)
    assert_error(response, 422, "validation_error")
    assert strict_client.get(f"/v1/mcp-configs/{created['id']}", headers=alice).json() == created


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_url_is_accepted_when_private_addresses_are_allowed(
    client: TestClient, alice: Headers, url: str
) -> None:
    config = {"transport": "streamable_http", "url": url}
    assert _create(client, alice, "local", config)["config"]["url"] == url


@pytest.mark.parametrize("url", ["ftp://mcp.example.com/", "file:///etc/passwd", "not a url"])
def test_url_that_is_not_http_is_a_validation_error(
    client: TestClient, alice: Headers, url: str
) -> None:
    config = {"transport": "sse", "url": url}
    response = client.post("/v1/mcp-configs", json={"name": "odd", "config": config}, headers=alice)
    assert_error(response, 422, "validation_error")


# --- shape --------------------------------------------------------------------------------------


def test_unknown_transport_is_a_validation_error(client: TestClient, alice: Headers) -> None:
    config = {"transport": "websocket", "url": "wss://mcp.example.com/ws"}
    response = client.post("/v1/mcp-configs", json={"name": "ws", "config": config}, headers=alice)
    assert "transport" in assert_error(response, 422, "validation_error")


def test_unknown_field_is_a_validation_error(client: TestClient, alice: Headers) -> None:
    body = {"name": "server", "config": HTTP_CONFIG, "owner": "bob"}
    response = client.post("/v1/mcp-configs", json=body, headers=alice)
    assert "owner" in assert_error(response, 422, "validation_error")


def test_unknown_field_in_patch_is_a_validation_error(client: TestClient, alice: Headers) -> None:
    created = _create(client, alice, "server", HTTP_CONFIG)
    response = client.patch(
        f"/v1/mcp-configs/{created['id']}", json={"owner": "bob"}, headers=alice
    )
    assert "owner" in assert_error(response, 422, "validation_error")


def test_unknown_field_inside_config_is_a_validation_error(
    client: TestClient, alice: Headers
) -> None:
    config = {"transport": "sse", "url": "https://mcp.example.com/sse", "header": {"A": "b"}}
    response = client.post(
        "/v1/mcp-configs", json={"name": "server", "config": config}, headers=alice
    )
    assert "header" in assert_error(response, 422, "validation_error")


def test_missing_config_is_a_validation_error(client: TestClient, alice: Headers) -> None:
    response = client.post("/v1/mcp-configs", json={"name": "server"}, headers=alice)
    assert "config" in assert_error(response, 422, "validation_error")


# --- enabled ------------------------------------------------------------------------------------


def test_created_disabled_when_asked(client: TestClient, alice: Headers) -> None:
    assert _create(client, alice, "server", HTTP_CONFIG, enabled=False)["enabled"] is False


def test_enabled_toggles_and_nothing_else_changes(client: TestClient, alice: Headers) -> None:
    created = _create(client, alice, "server", HTTP_CONFIG)
    path = f"/v1/mcp-configs/{created['id']}"
    off = client.patch(path, json={"enabled": False}, headers=alice).json()
    assert off == {**created, "enabled": False, "updated_at": off["updated_at"]}
    on = client.patch(path, json={"enabled": True}, headers=alice).json()
    assert on == {**created, "updated_at": on["updated_at"]}
    assert client.get(path, headers=alice).json() == on


# --- lists --------------------------------------------------------------------------------------


def test_list_pages_by_name(client: TestClient, alice: Headers) -> None:
    names = ["delta", "alpha", "echo", "charlie", "bravo"]
    for name in names:
        _create(client, alice, name, SSE_CONFIG)
    seen: list[str] = []
    pages: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        response = client.get("/v1/mcp-configs", params=params, headers=alice)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [item["name"] for item in page["items"]]
        pages.append(len(page["items"]))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(names)
    assert pages == [2, 2, 1]


def test_list_whose_last_page_is_full_ends_with_a_null_cursor(
    client: TestClient, alice: Headers
) -> None:
    for name in ["a", "b"]:
        _create(client, alice, name, SSE_CONFIG)
    page = client.get("/v1/mcp-configs", params={"limit": 2}, headers=alice).json()
    assert [item["name"] for item in page["items"]] == ["a", "b"]
    assert page["next_cursor"] is None


NON_ASCII_DIGIT = pytest.param("²", id="superscript two")


@pytest.mark.parametrize("limit", ["0", "101", "-1", "two", "1.5", "", NON_ASCII_DIGIT])
def test_limit_out_of_range_is_a_validation_error(
    client: TestClient, alice: Headers, limit: str
) -> None:
    response = client.get("/v1/mcp-configs", params={"limit": limit}, headers=alice)
    assert "limit" in assert_error(response, 422, "validation_error")


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", "W10"])
def test_cursor_that_does_not_decode_is_a_validation_error(
    client: TestClient, alice: Headers, cursor: str
) -> None:
    response = client.get("/v1/mcp-configs", params={"cursor": cursor}, headers=alice)
    assert "cursor" in assert_error(response, 422, "validation_error")


# --- delete and ids -----------------------------------------------------------------------------


def test_delete_then_get_is_not_found(client: TestClient, alice: Headers) -> None:
    created = _create(client, alice, "server", HTTP_CONFIG)
    path = f"/v1/mcp-configs/{created['id']}"
    deleted = client.delete(path, headers=alice)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_error(client.get(path, headers=alice), 404, "not_found")


def test_delete_twice_is_not_found(client: TestClient, alice: Headers) -> None:
    created = _create(client, alice, "server", HTTP_CONFIG)
    path = f"/v1/mcp-configs/{created['id']}"
    client.delete(path, headers=alice)
    assert_error(client.delete(path, headers=alice), 404, "not_found")


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("config_id", ["not-a-uuid", "123", "0190a000-0000-7000-8000-00000000000g"])
def test_id_that_is_not_a_uuid_is_not_found(
    client: TestClient, alice: Headers, method: str, config_id: str
) -> None:
    body = {"enabled": False} if method == "PATCH" else None
    response = client.request(method, f"/v1/mcp-configs/{config_id}", json=body, headers=alice)
    assert_error(response, 404, "not_found")


def test_tools_of_an_id_that_is_not_a_uuid_is_not_found(client: TestClient, alice: Headers) -> None:
    assert_error(client.get("/v1/mcp-configs/nope/tools", headers=alice), 404, "not_found")


def test_unknown_uuid_is_not_found(client: TestClient, alice: Headers) -> None:
    response = client.get("/v1/mcp-configs/0190a000-0000-7000-8000-000000000000", headers=alice)
    assert_error(response, 404, "not_found")
