from __future__ import annotations

import asyncio
import json
import logging
import uuid

import pytest

from faceplate.mcp_client.catalog import ListingFailures, McpToolSource, ToolSource, Unusable
from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.structs import HttpConfig, SseConfig, StdioConfig, ToolCall
from tests.mcp_client.servers import free_port
from tests.mcp_client.support import USER, text
from tests.mcp_client.toolbox import Recorder

HTTP_ID = uuid.UUID(int=101)
SSE_ID = uuid.UUID(int=102)
STDIO_ID = uuid.UUID(int=104)
BROKEN_ID = uuid.UUID(int=103)


@pytest.fixture
def source(
    manager: McpSessionManager, http_config: HttpConfig, sse_config: SseConfig
) -> McpToolSource:
    broken = HttpConfig(url=f"http://127.0.0.1:{free_port()}/mcp")
    configs = [
        (HTTP_ID, "Web Tools", http_config),
        (SSE_ID, "Local", sse_config),
        (BROKEN_ID, "Broken", broken),
    ]
    return McpToolSource(manager, USER, configs, timeout_s=5)


async def test_specs_name_tools_by_config(
    source: McpToolSource, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="faceplate.mcp_client.catalog"):
        specs = await source.specs()

    names = [spec.name for spec in specs]
    assert "web-tools__add" in names
    assert "local__add" in names
    assert not [name for name in names if name.startswith("broken")]
    add = next(spec for spec in specs if spec.name == "local__add")
    assert add.description == "Add two integers."
    assert add.input_schema["required"] == ["a", "b"]
    assert f"tools of MCP config {BROKEN_ID} left out" in caplog.text


async def test_calls_reach_the_right_server(source: McpToolSource) -> None:
    result = await source.call(ToolCall(id="c1", name="local__add", arguments={"a": 2, "b": 5}))

    assert result.is_error is False
    assert text(result) == "7"
    assert result.tool_call_id == "c1"
    assert result.name == "local__add"


async def test_unknown_tool_name(source: McpToolSource) -> None:
    result = await source.call(ToolCall(id="c2", name="nothing__add", arguments={}))

    assert result.is_error is True
    assert text(result) == "unknown tool nothing__add"
    assert result.tool_call_id == "c2"


async def test_a_tool_of_a_server_that_is_down_says_so_and_why(source: McpToolSource) -> None:
    result = await source.call(ToolCall(id="c3", name="broken__add", arguments={}))

    assert result.is_error is True
    assert text(result).startswith("the MCP server of config 'Broken' is unavailable: ")
    assert "could not reach the MCP server" in text(result)
    assert source.refusal("broken__anything") == text(result)


async def test_an_unusable_config_keeps_its_slug_and_says_why(
    manager: McpSessionManager, http_config: HttpConfig
) -> None:
    source = McpToolSource(
        manager,
        USER,
        [
            (BROKEN_ID, "Tools", Unusable("a secret cannot be decrypted")),
            (HTTP_ID, "tools", http_config),
        ],
        timeout_s=5,
    )

    names = [spec.name for spec in await source.specs()]
    result = await source.call(ToolCall(id="c", name="tools__add", arguments={"a": 1, "b": 1}))

    assert "tools_2__add" in names and "tools__add" not in names
    assert (
        text(result)
        == "the MCP server of config 'Tools' is unavailable: a secret cannot be decrypted"
    )


async def test_calls_run_concurrently(source: McpToolSource) -> None:
    await source.specs()
    sleep = {"seconds": 0.5, "clock": True}

    results = await asyncio.gather(
        source.call(ToolCall(id="a", name="web-tools__sleep", arguments=sleep)),
        source.call(ToolCall(id="b", name="web-tools__sleep", arguments=sleep)),
        source.call(ToolCall(id="c", name="local__sleep", arguments=sleep)),
    )

    assert [r.tool_call_id for r in results] == ["a", "b", "c"]
    assert not any(r.is_error for r in results)
    # Each call's server says when its sleep ran (one clock for every process): every sleep
    # began before any ended, so all three were in flight at once.
    spans = [tuple(int(t) for t in text(r).split()) for r in results]
    assert max(began for began, _ in spans) < min(ended for _, ended in spans)


async def test_servers_are_listed_once(
    source: McpToolSource, recorder: Recorder, test_id: str
) -> None:
    await source.specs()
    await source.specs()
    await source.call(ToolCall(id="c1", name="web-tools__echo", arguments={"text": "hi"}))

    # Once per server: both carry this test's header.
    assert recorder.methods(test_id).count("tools/list") == 2


async def test_clashing_slugs_route_to_their_own_configs(
    manager: McpSessionManager, http_url: str
) -> None:
    first = HttpConfig(url=f"{http_url}/mcp", headers={"X-Server": "first"})
    second = HttpConfig(url=f"{http_url}/mcp", headers={"X-Server": "second"})
    source: ToolSource = McpToolSource(
        manager, USER, [(HTTP_ID, "GitHub", first), (SSE_ID, "github", second)], timeout_s=5
    )

    names = [spec.name for spec in await source.specs()]
    result = await source.call(ToolCall(id="c", name="github_2__headers", arguments={}))

    assert "github__headers" in names
    assert "github_2__headers" in names
    assert json.loads(text(result))["x-server"] == "second"


async def test_a_source_with_no_configs_offers_nothing(manager: McpSessionManager) -> None:
    source = McpToolSource(manager, USER, [], timeout_s=5)

    assert await source.specs() == []


async def test_stdio_tools_are_offered_and_called(
    manager: McpSessionManager, stdio_config: StdioConfig
) -> None:
    source = McpToolSource(manager, USER, [(STDIO_ID, "Local Files", stdio_config)], timeout_s=5)

    names = [spec.name for spec in await source.specs()]
    result = await source.call(ToolCall(id="c", name="local-files__echo", arguments={"text": "x"}))

    assert "local-files__echo" in names
    assert text(result) == "x"


async def test_a_server_that_failed_lately_is_skipped_at_once(manager: McpSessionManager) -> None:
    connections = 0

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.read()
        writer.close()

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    hanging = HttpConfig(url=f"http://127.0.0.1:{silent.sockets[0].getsockname()[1]}/mcp")
    failures = ListingFailures(retry_after_s=60)
    configs = [(BROKEN_ID, "Silent", hanging)]
    try:
        first = McpToolSource(
            manager, USER, configs, timeout_s=5, list_timeout_s=0.5, failures=failures
        )
        assert await first.specs() == []
        tried = connections
        assert tried >= 1  # the first listing waited on the server until its timeout

        second = McpToolSource(
            manager, USER, configs, timeout_s=5, list_timeout_s=0.5, failures=failures
        )
        assert await second.specs() == []
        assert connections == tried  # skipped: the server was not even asked again
    finally:
        silent.close()
        await silent.wait_closed()


async def test_an_edited_config_is_tried_again_at_once(
    manager: McpSessionManager, http_config: HttpConfig
) -> None:
    failures = ListingFailures(retry_after_s=60)
    broken = HttpConfig(url=f"http://127.0.0.1:{free_port()}/mcp")
    failures.record(HTTP_ID, broken, "refused")
    source = McpToolSource(
        manager, USER, [(HTTP_ID, "Web", http_config)], timeout_s=5, failures=failures
    )
    assert [s.name for s in await source.specs()]
    assert failures.recent(HTTP_ID, broken) == "refused"
    assert failures.recent(HTTP_ID, http_config) is None


def test_a_failure_is_forgotten_after_the_retry_delay() -> None:
    failures = ListingFailures(retry_after_s=0)
    config = HttpConfig(url="http://127.0.0.1:1/mcp")
    failures.record(HTTP_ID, config, "refused")
    assert failures.recent(HTTP_ID, config) is None
