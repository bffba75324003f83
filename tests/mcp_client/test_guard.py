from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from faceplate.mcp_client import addresses
from faceplate.mcp_client.addresses import IPAddress
from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.structs import HttpConfig, McpServerConfig, SseConfig
from tests.mcp_client.support import call, fake_dns, text
from tests.mcp_client.toolbox import Recorder


@pytest.fixture
async def strict_manager() -> AsyncIterator[McpSessionManager]:
    async with McpSessionManager(allow_private=False) as m:
        yield m


def renamed(url: str, name: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{name}:{parts.port}").geturl()


async def test_name_that_turns_private_after_the_check_is_refused(
    strict_manager: McpSessionManager,
    http_config: HttpConfig,
    recorder: Recorder,
    test_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_dns(monkeypatch, {"rebind.example": [["93.184.216.34"], ["127.0.0.1"]]})
    config = HttpConfig(url=renamed(http_config.url, "rebind.example"), headers={"X-Test": test_id})

    result = await call(strict_manager, config, "add", {"a": 1, "b": 1})

    assert result.is_error is True
    assert text(result) == (
        "MCP server address rebind.example (127.0.0.1) is loopback, which is not allowed"
    )
    assert recorder.methods(test_id) == []


@pytest.mark.parametrize("transport", ["http_config", "sse_config"])
async def test_guarded_connections_reach_the_checked_address(
    strict_manager: McpSessionManager,
    transport: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def loopback_counts_as_public(ip: IPAddress) -> str | None:
        return None if ip.is_loopback else "private"

    monkeypatch.setattr(addresses, "refusal", loopback_counts_as_public)
    fake_dns(monkeypatch, {"mcp.test": [["127.0.0.1"]]})
    base: McpServerConfig = request.getfixturevalue(transport)
    assert isinstance(base, HttpConfig | SseConfig)
    config = type(base)(url=renamed(base.url, "mcp.test"), headers=base.headers)

    result = await call(strict_manager, config, "headers")

    assert result.is_error is False
    assert json.loads(text(result))["host"] == urlsplit(config.url).netloc
