from __future__ import annotations

import json

import httpx2
import msgspec
import pytest

from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.mcp_client.stdio.runtime import StdioRuntime
from faceplate.structs import HttpConfig, McpServerConfig, StdioConfig
from tests.mcp_client.support import CONFIG_ID, USER, call, eventually, process_gone, text
from tests.mcp_client.toolbox import Recorder

NETWORK = ["http_config", "legacy_config", "sse_config"]
OPENING = ("initialize", "server/discover")


@pytest.fixture(params=NETWORK)
def network_config(request: pytest.FixtureRequest) -> McpServerConfig:
    value: McpServerConfig = request.getfixturevalue(request.param)
    return value


def openings(recorder: Recorder, test_id: str) -> list[str]:
    return [m for m in recorder.methods(test_id) if m in OPENING]


async def test_headers_reach_the_server(
    manager: McpSessionManager, network_config: McpServerConfig, recorder: Recorder, test_id: str
) -> None:
    headers = {"X-Test": test_id, "Authorization": "Bearer s3cret"}
    config = msgspec.structs.replace(network_config, headers=headers)

    result = await call(manager, config, "headers")

    assert json.loads(text(result))["authorization"] == "Bearer s3cret"
    seen = recorder.headers(test_id)
    assert seen
    assert all(h["authorization"] == "Bearer s3cret" for h in seen)


async def test_one_session_serves_many_calls(
    manager: McpSessionManager, network_config: McpServerConfig, recorder: Recorder, test_id: str
) -> None:
    await call(manager, network_config, "add", {"a": 1, "b": 1})
    first = openings(recorder, test_id)

    for n in range(3):
        await call(manager, network_config, "add", {"a": n, "b": 1})
    await manager.list_tools(USER, CONFIG_ID, network_config)

    assert first in (["server/discover"], ["server/discover", "initialize"])
    assert openings(recorder, test_id) == first


async def test_legacy_server_gets_one_initialize(
    manager: McpSessionManager, legacy_config: HttpConfig, recorder: Recorder, test_id: str
) -> None:
    for n in range(3):
        await call(manager, legacy_config, "add", {"a": n, "b": 1})

    assert recorder.methods(test_id).count("initialize") == 1


async def test_close_config_closes_the_session(
    manager: McpSessionManager, legacy_config: HttpConfig, recorder: Recorder, test_id: str
) -> None:
    await call(manager, legacy_config, "add", {"a": 1, "b": 1})

    await manager.close_config(CONFIG_ID)

    assert "DELETE" in recorder.http_methods(test_id)
    await call(manager, legacy_config, "add", {"a": 1, "b": 1})
    assert recorder.methods(test_id).count("initialize") == 2


async def test_other_configs_keep_their_sessions(
    manager: McpSessionManager, legacy_config: HttpConfig, recorder: Recorder, test_id: str
) -> None:
    await call(manager, legacy_config, "add", {"a": 1, "b": 1})

    await manager.close_config(USER)

    await call(manager, legacy_config, "add", {"a": 1, "b": 1})
    assert recorder.methods(test_id).count("initialize") == 1


async def test_changed_config_gets_a_new_session(
    manager: McpSessionManager, legacy_config: HttpConfig, recorder: Recorder, test_id: str
) -> None:
    await call(manager, legacy_config, "add", {"a": 1, "b": 1})
    changed = HttpConfig(url=legacy_config.url, headers={**legacy_config.headers, "X-New": "1"})

    await call(manager, changed, "add", {"a": 1, "b": 1})

    assert recorder.methods(test_id).count("initialize") == 2


async def test_forgotten_legacy_session_reconnects(
    manager: McpSessionManager, legacy_config: HttpConfig, recorder: Recorder, test_id: str
) -> None:
    await call(manager, legacy_config, "add", {"a": 1, "b": 1})
    session_id = next(
        h["mcp-session-id"] for h in recorder.headers(test_id) if "mcp-session-id" in h
    )
    async with httpx2.AsyncClient() as http:
        response = await http.delete(
            legacy_config.url,
            headers={"mcp-session-id": session_id, "mcp-protocol-version": "2025-11-25"},
        )
        assert response.status_code == 200

    result = await call(manager, legacy_config, "add", {"a": 2, "b": 2})

    assert result.is_error is False
    assert text(result) == "4"
    assert recorder.methods(test_id).count("initialize") == 2


async def test_close_config_ends_the_stdio_process(
    manager: McpSessionManager, stdio_config: StdioConfig
) -> None:
    pid = int(text(await call(manager, stdio_config, "pid")))

    await manager.close_config(CONFIG_ID)

    assert process_gone(pid)


async def test_aclose_ends_the_stdio_process(
    stdio: StdioRuntime, stdio_config: StdioConfig
) -> None:
    async with McpSessionManager(allow_private=True, stdio=stdio) as manager:
        pid = int(text(await call(manager, stdio_config, "pid")))

    assert process_gone(pid)


async def test_idle_session_is_closed(stdio: StdioRuntime, stdio_config: StdioConfig) -> None:
    async with McpSessionManager(allow_private=True, stdio=stdio, idle_timeout_s=0.3) as manager:
        pid = int(text(await call(manager, stdio_config, "pid")))

        await eventually(lambda: process_gone(pid))


async def test_busy_session_is_not_closed_for_idleness(
    legacy_config: HttpConfig, recorder: Recorder, test_id: str
) -> None:
    async with McpSessionManager(allow_private=True, idle_timeout_s=0.2) as manager:
        result = await call(manager, legacy_config, "sleep", {"seconds": 0.8})

        assert result.is_error is False
        assert "DELETE" not in recorder.http_methods(test_id)
        await eventually(lambda: "DELETE" in recorder.http_methods(test_id))


async def test_stdio_env_is_the_configs_over_a_minimal_one(
    manager: McpSessionManager, stdio_config: StdioConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEPLATE_PARENT_SECRET", "do-not-leak")
    config = msgspec.structs.replace(stdio_config, env={"API_TOKEN": "t0ken"})

    env = json.loads(text(await call(manager, config, "environment")))

    assert env["API_TOKEN"] == "t0ken"
    assert "PATH" in env
    assert "FACEPLATE_PARENT_SECRET" not in env
