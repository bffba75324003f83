from __future__ import annotations

import asyncio
import base64

import pytest

from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.structs import ImageBlock, McpServerConfig, ResourceBlock, TextBlock
from tests.mcp_client.support import CONFIG_ID, USER, call, text
from tests.mcp_client.toolbox import PNG

TRANSPORTS = ["http_config", "legacy_config", "sse_config", "stdio_config"]


@pytest.fixture(params=TRANSPORTS)
def config(request: pytest.FixtureRequest) -> McpServerConfig:
    value: McpServerConfig = request.getfixturevalue(request.param)
    return value


async def test_list_tools(manager: McpSessionManager, config: McpServerConfig) -> None:
    tools = await manager.list_tools(USER, CONFIG_ID, config)

    by_name = {tool.name: tool for tool in tools}
    assert {"add", "echo", "sleep", "fail", "image"} <= set(by_name)
    assert by_name["add"].description == "Add two integers."
    assert by_name["add"].input_schema["properties"].keys() == {"a", "b"}


async def test_call_tool(manager: McpSessionManager, config: McpServerConfig) -> None:
    result = await call(manager, config, "add", {"a": 2, "b": 3})

    assert result.is_error is False
    assert text(result) == "5"
    assert result.tool_call_id == "call-1"
    assert result.name == "test__add"
    assert result.duration_ms >= 0


async def test_calls_on_one_session_run_concurrently(
    manager: McpSessionManager, config: McpServerConfig
) -> None:
    await call(manager, config, "add", {"a": 0, "b": 0})
    sleep = {"seconds": 0.5, "clock": True}

    results = await asyncio.gather(
        call(manager, config, "sleep", sleep), call(manager, config, "sleep", sleep)
    )

    assert [r.is_error for r in results] == [False, False]
    # The server says when each sleep ran: the second began before the first ended.
    spans = [tuple(int(t) for t in text(r).split()) for r in results]
    assert max(began for began, _ in spans) < min(ended for _, ended in spans)


async def test_image_content(manager: McpSessionManager, config: McpServerConfig) -> None:
    result = await call(manager, config, "image")

    assert result.content == [
        ImageBlock(data=base64.b64encode(PNG).decode(), mime_type="image/png")
    ]


async def test_other_content(manager: McpSessionManager, http_config: McpServerConfig) -> None:
    result = await call(manager, http_config, "media")

    assert result.content == [
        ResourceBlock(uri="file:///a.txt", mime_type="text/plain", text="A"),
        ResourceBlock(uri="file:///b.bin", blob="AAE="),
        TextBlock(text="[audio, audio/wav, about 3 bytes, not shown]"),
        TextBlock(text="[resource link: doc <https://example.com/doc>, text/html]"),
    ]
