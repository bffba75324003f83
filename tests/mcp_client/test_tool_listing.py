"""A session keeps its server's tool listing until the server says it changed, the config
changes or the session is reopened: a turn then starts without asking the server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import msgspec
import pytest
from cryptography.fernet import Fernet

from faceplate.db import Database
from faceplate.mcp_client.catalog import McpToolSource
from faceplate.mcp_client.oauth.flow import OAuthFlow, OAuthSettings
from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.mcp_client.stdio.runtime import StdioRuntime
from faceplate.secrets import SecretBox
from faceplate.structs import HttpConfig, McpServerConfig
from tests.mcp_client.support import CONFIG_ID, USER, call
from tests.mcp_client.toolbox import Recorder

NETWORK = ["http_config", "legacy_config", "sse_config"]


@pytest.fixture(params=NETWORK)
def network_config(request: pytest.FixtureRequest) -> McpServerConfig:
    value: McpServerConfig = request.getfixturevalue(request.param)
    return value


def listings(recorder: Recorder, test_id: str) -> int:
    return recorder.methods(test_id).count("tools/list")


async def test_turns_after_the_first_do_not_ask_the_server(
    manager: McpSessionManager, http_config: HttpConfig, recorder: Recorder, test_id: str
) -> None:
    for _ in range(3):
        source = McpToolSource(manager, USER, [(CONFIG_ID, "Tools", http_config)], timeout_s=5)
        names = [spec.name for spec in await source.specs()]
        assert "tools__add" in names

    assert listings(recorder, test_id) == 1


async def test_with_oauth_on_a_session_without_a_token_keeps_its_listing(
    db: Database, stdio: StdioRuntime, http_config: HttpConfig, recorder: Recorder, test_id: str
) -> None:
    # As the app runs: OAuth on for every HTTP config. A server that never asked for a token
    # is listed once; only sessions whose requests carry one are asked every turn.
    box = SecretBox(Fernet.generate_key().decode())
    flow = OAuthFlow(db, box, OAuthSettings(redirect_uri="http://127.0.0.1/cb", allow_private=True))
    try:
        async with McpSessionManager(allow_private=True, stdio=stdio, oauth=flow) as manager:
            for _ in range(3):
                config = [(CONFIG_ID, "Tools", http_config)]
                source = McpToolSource(manager, USER, config, timeout_s=5)
                assert "tools__add" in [spec.name for spec in await source.specs()]
    finally:
        await flow.aclose()

    assert listings(recorder, test_id) == 1


async def test_the_servers_word_that_tools_changed_lists_them_again(
    manager: McpSessionManager, network_config: McpServerConfig, recorder: Recorder, test_id: str
) -> None:
    first = await manager.list_tools(USER, CONFIG_ID, network_config)
    assert await manager.list_tools(USER, CONFIG_ID, network_config) == first
    assert listings(recorder, test_id) == 1

    result = await call(manager, network_config, "announce_tools_changed")
    assert result.is_error is False

    async def listed_again() -> bool:
        await manager.list_tools(USER, CONFIG_ID, network_config)
        return listings(recorder, test_id) == 2

    await eventually_async(listed_again)
    assert await manager.list_tools(USER, CONFIG_ID, network_config) == first
    assert listings(recorder, test_id) == 2


async def test_an_edited_config_is_listed_anew(
    manager: McpSessionManager, http_config: HttpConfig, recorder: Recorder, test_id: str
) -> None:
    await manager.list_tools(USER, CONFIG_ID, http_config)
    edited = msgspec.structs.replace(http_config, headers={**http_config.headers, "X-More": "1"})

    await manager.list_tools(USER, CONFIG_ID, edited)
    await manager.list_tools(USER, CONFIG_ID, edited)

    assert listings(recorder, test_id) == 2


async def test_a_reopened_session_is_listed_anew(
    manager: McpSessionManager, http_config: HttpConfig, recorder: Recorder, test_id: str
) -> None:
    await manager.list_tools(USER, CONFIG_ID, http_config)
    await manager.close_config(CONFIG_ID)

    await manager.list_tools(USER, CONFIG_ID, http_config)

    assert listings(recorder, test_id) == 2


async def test_a_listing_is_the_users_own(
    manager: McpSessionManager, http_config: HttpConfig, recorder: Recorder, test_id: str
) -> None:
    await manager.list_tools(USER, CONFIG_ID, http_config)
    await manager.list_tools(uuid.uuid4(), CONFIG_ID, http_config)

    assert listings(recorder, test_id) == 2


async def eventually_async(check: Callable[[], Awaitable[bool]], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():
            await asyncio.sleep(0.02)
