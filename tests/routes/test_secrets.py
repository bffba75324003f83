"""Secrets of MCP configs (CONTRACT §7): a re-pointed config must be sent every secret anew;
FACEPLATE_SECRET_KEY lists keys (the first encrypts, all decrypt) and `faceplate rotate-secrets`
re-encrypts with the first; a value no key decrypts is never replaced, and is named."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.fernet import Fernet
from starlette.testclient import TestClient

from faceplate.app import create_app
from faceplate.secrets import REDACTED, SecretBox, UnreadableSecrets
from faceplate.settings import Settings
from faceplate.structs import McpServerConfig
from tests.mcp_client.stdio_support import write_servers
from tests.routes.helpers import Headers, assert_error, stored_config
from tests.support.app import dev_settings

SECRET = "Bearer s3cret-a1"
HTTP = {
    "transport": "streamable_http",
    "url": "https://mcp.example.com:8443/mcp",
    "headers": {"Authorization": SECRET, "X-Tag": "t"},
}
STDIO = {"transport": "stdio", "command": "python3", "args": ["-m", "srv"], "env": {"K": "v1"}}
PYTHON = shutil.which("python3") or "/usr/bin/python3"
SERVERS = [  # what the operator lets users run: this server, and re-pointed variants of it
    {"command": "python3", "args": ["-m", "srv"], "env": ["K"]},
    {"command": "python3", "args": ["-m", "other"], "env": ["K"]},
    {"command": PYTHON, "args": ["-m", "srv"], "env": ["K"]},
]
K1, K2, K3 = (Fernet.generate_key().decode() for _ in range(3))

AppFactory = Callable[..., TestClient]


@pytest.fixture
def make(settings: Settings) -> Iterator[AppFactory]:
    """Apps on the test database with the keys (and settings) given."""
    with ExitStack() as stack:

        def app(keys: str, **overrides: Any) -> TestClient:
            assert settings.database_url is not None
            changed = dev_settings(
                settings.database_url, settings.data_dir, secret_key=keys, **overrides
            )
            return stack.enter_context(TestClient(create_app(changed)))

        yield app


def _create(client: TestClient, headers: Headers, config: dict[str, Any]) -> str:
    response = client.post(
        "/v1/mcp-configs", json={"name": "tools", "config": config}, headers=headers
    )
    assert response.status_code == 201, response.text
    config_id: str = response.json()["id"]
    return config_id


def _patch(client: TestClient, headers: Headers, config_id: str, body: dict[str, Any]) -> Any:
    return client.patch(f"/v1/mcp-configs/{config_id}", json=body, headers=headers)


def _sealed(settings: Settings, config_id: str) -> McpServerConfig:
    assert settings.database_url is not None
    return msgspec.convert(stored_config(settings.database_url, config_id), McpServerConfig)


def _clear(settings: Settings, config_id: str, *keys: str) -> dict[str, str]:
    opened = msgspec.to_builtins(SecretBox(list(keys)).open(_sealed(settings, config_id)))
    values: dict[str, str] = opened.get("env") or opened.get("headers") or {}
    return values


def _redacted(config: dict[str, Any], **changes: Any) -> dict[str, Any]:
    field = "env" if config["transport"] == "stdio" else "headers"
    return {**config, field: dict.fromkeys(config[field], REDACTED), **changes}


# --- re-pointing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://elsewhere.example.com:8443/mcp",  # host
        "https://mcp.example.com:9443/mcp",  # port
        "http://mcp.example.com:8443/mcp",  # scheme
    ],
)
def test_a_re_pointed_url_with_the_placeholder_is_422_naming_the_key(
    make: AppFactory, alice: Headers, settings: Settings, url: str
) -> None:
    client = make(K1)
    config_id = _create(client, alice, HTTP)

    response = _patch(client, alice, config_id, {"config": _redacted(HTTP, url=url)})

    message = assert_error(response, 422, "validation_error")
    assert message.startswith("config.headers.Authorization: the config now points elsewhere")
    assert _clear(settings, config_id, K1)["Authorization"] == SECRET  # nothing changed


def test_a_re_pointed_url_with_every_value_sent_anew_is_accepted(
    make: AppFactory, alice: Headers, settings: Settings
) -> None:
    client = make(K1)
    config_id = _create(client, alice, HTTP)
    moved = {**HTTP, "url": "https://elsewhere.example.com/mcp", "headers": {"Authorization": "n"}}

    assert _patch(client, alice, config_id, {"config": moved}).status_code == 200
    assert _clear(settings, config_id, K1) == {"Authorization": "n"}


def test_another_path_or_transport_on_the_same_origin_keeps_the_values(
    make: AppFactory, alice: Headers, settings: Settings
) -> None:
    client = make(K1)
    config_id = _create(client, alice, HTTP)
    same_origin = _redacted(HTTP, transport="sse", url="https://MCP.example.com:8443/other")

    assert _patch(client, alice, config_id, {"config": same_origin}).status_code == 200
    assert _clear(settings, config_id, K1)["Authorization"] == SECRET


@pytest.fixture
def servers_file(tmp_path: Path) -> Path:
    return write_servers(tmp_path / "servers.json", SERVERS)


@pytest.mark.parametrize(
    "change", [{"args": ["-m", "other"]}, {"command": PYTHON}], ids=["args", "command"]
)
def test_a_re_pointed_stdio_config_with_the_placeholder_is_422_naming_the_key(
    make: AppFactory, alice: Headers, change: dict[str, Any], servers_file: Path
) -> None:
    client = make(K1, mcp_stdio_servers=servers_file)
    config_id = _create(client, alice, STDIO)

    response = _patch(client, alice, config_id, {"config": _redacted(STDIO, **change)})

    assert assert_error(response, 422, "validation_error").startswith("config.env.K:")


def test_a_placeholder_for_a_key_never_stored_is_422_not_an_empty_value(
    make: AppFactory, alice: Headers
) -> None:
    client = make(K1)
    config_id = _create(client, alice, HTTP)
    body = _redacted(HTTP)
    body["headers"]["X-New"] = REDACTED

    response = _patch(client, alice, config_id, {"config": body})

    assert assert_error(response, 422, "validation_error").startswith("config.headers.X-New:")


# --- several keys ------------------------------------------------------------------------------


def test_every_listed_key_decrypts_and_the_first_encrypts(
    make: AppFactory, alice: Headers, settings: Settings
) -> None:
    config_id = _create(make(K1), alice, HTTP)
    rotated = make(f"{K2},{K1}")

    kept = _patch(rotated, alice, config_id, {"config": _redacted(HTTP)})  # reads with K1

    assert kept.status_code == 200, kept.text
    assert _clear(settings, config_id, K2)["Authorization"] == SECRET  # sealed with K2
    with pytest.raises(UnreadableSecrets):
        _clear(settings, config_id, K1)


def _rotate(settings: Settings, keys: str) -> subprocess.CompletedProcess[str]:
    assert settings.database_url is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEPLATE_")}
    env |= {
        "FACEPLATE_DATABASE_URL": settings.database_url,
        "FACEPLATE_DATA_DIR": str(settings.data_dir),
        "FACEPLATE_SECRET_KEY": keys,
    }
    return subprocess.run(
        [sys.executable, "-m", "faceplate.cli", "rotate-secrets"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_rotate_secrets_re_encrypts_every_value_with_the_first_key(
    make: AppFactory, alice: Headers, bob: Headers, settings: Settings, servers_file: Path
) -> None:
    old = make(K1, mcp_stdio_servers=servers_file)
    first = _create(old, alice, HTTP)
    second = _create(old, bob, STDIO)
    before = _sealed(settings, first)

    done = _rotate(settings, f"{K2},{K1}")

    assert done.returncode == 0, done.stderr
    store = "MCP config header and env values, OAuth client secrets"
    assert f"{store}: 3 re-encrypted with the first key" in done.stdout
    assert _clear(settings, first, K2) == HTTP["headers"]
    assert _clear(settings, second, K2) == STDIO["env"]
    assert _sealed(settings, first) != before
    assert make(K2).get(f"/v1/mcp-configs/{first}", headers=alice).status_code == 200


def test_rotate_secrets_leaves_a_value_no_key_decrypts_and_says_so(
    make: AppFactory, alice: Headers, settings: Settings
) -> None:
    lost = _create(make(K3), alice, HTTP)
    before = _sealed(settings, lost)

    done = _rotate(settings, f"{K2},{K1}")

    assert done.returncode == 1
    assert f"no key decrypts {lost} config.headers.Authorization: left as it is" in done.stderr
    assert _sealed(settings, lost) == before
    assert SECRET not in done.stdout + done.stderr


# --- a value no key decrypts ---------------------------------------------------------------


def test_a_config_no_key_decrypts_is_named_never_emptied(
    make: AppFactory, alice: Headers, settings: Settings
) -> None:
    config_id = _create(make(K1), alice, HTTP)
    before = _sealed(settings, config_id)
    other = make(K2)

    shown = other.get(f"/v1/mcp-configs/{config_id}", headers=alice)
    tools = other.get(f"/v1/mcp-configs/{config_id}/tools", headers=alice)
    renamed = _patch(other, alice, config_id, {"name": "renamed", "enabled": False})
    kept = _patch(other, alice, config_id, {"config": _redacted(HTTP)})

    assert shown.status_code == 200 and shown.json()["config"] == _redacted(HTTP)
    message = assert_error(tools, 409, "conflict")
    assert "cannot be decrypted with the configured FACEPLATE_SECRET_KEY" in message
    assert "config.headers.Authorization" in message and "config.headers.X-Tag" in message
    assert renamed.status_code == 200
    assert _sealed(settings, config_id) == before  # stored as it was, not re-sealed as ""
    assert "cannot be decrypted" in assert_error(kept, 422, "validation_error")
    assert _sealed(settings, config_id) == before
    fixed = _patch(other, alice, config_id, {"config": HTTP})
    assert fixed.status_code == 200
    assert _clear(settings, config_id, K2)["Authorization"] == SECRET
