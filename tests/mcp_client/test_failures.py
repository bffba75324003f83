from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from faceplate.mcp_client.errors import ToolUnavailable
from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.structs import HttpConfig, McpServerConfig, StdioConfig
from tests.mcp_client.servers import ServerProcess, free_port
from tests.mcp_client.support import CONFIG_ID, USER, call, eventually, text
from tests.mcp_client.toolbox import Recorder

NETWORK = ["http_config", "legacy_config", "sse_config"]


@pytest.fixture(params=NETWORK)
def network_config(request: pytest.FixtureRequest) -> McpServerConfig:
    value: McpServerConfig = request.getfixturevalue(request.param)
    return value


async def test_tool_error_is_relayed(manager: McpSessionManager, http_config: HttpConfig) -> None:
    result = await call(manager, http_config, "fail")

    assert result.is_error is True
    assert text(result) == "Error executing tool fail: boom"


async def test_tool_crash_is_an_error_result(
    manager: McpSessionManager, http_config: HttpConfig
) -> None:
    result = await call(manager, http_config, "crash")

    assert result.is_error is True
    assert "Error executing tool crash" in text(result)


async def test_protocol_error_is_an_error_result(
    manager: McpSessionManager, http_config: HttpConfig
) -> None:
    result = await call(manager, http_config, "protocol_error")

    assert result.is_error is True
    assert text(result) == "the MCP server answered with an error: bad params"


async def test_unknown_server_tool_is_an_error_result(
    manager: McpSessionManager, http_config: HttpConfig
) -> None:
    result = await call(manager, http_config, "no_such_tool")

    assert result.is_error is True
    assert "no_such_tool" in text(result)


async def test_timeout_is_an_error_result_and_stops_the_tool(
    manager: McpSessionManager, network_config: McpServerConfig, recorder: Recorder, test_id: str
) -> None:
    result = await call(
        manager, network_config, "sleep", {"seconds": 5, "label": test_id}, timeout_s=0.5
    )

    assert result.is_error is True
    assert text(result) == "tool timed out after 0.5 s"
    assert 500 <= result.duration_ms < 2500
    await eventually(lambda: test_id in recorder.cancelled)


async def test_cancelling_a_call_stops_it_at_once(
    manager: McpSessionManager, network_config: McpServerConfig, recorder: Recorder, test_id: str
) -> None:
    task = asyncio.create_task(
        call(manager, network_config, "sleep", {"seconds": 30, "label": test_id})
    )
    await eventually(lambda: test_id in recorder.sleeping)

    task.cancel()
    cancelled_at = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert time.monotonic() - cancelled_at < 1
    await eventually(lambda: test_id in recorder.cancelled)
    if network_config.url.endswith("/mcp") and "/legacy/" not in network_config.url:
        # The 2026 HTTP wire cancels by closing the request's stream, not by a notification.
        assert "notifications/cancelled" not in recorder.methods(test_id)
    else:
        assert "notifications/cancelled" in recorder.methods(test_id)


async def test_session_survives_a_cancelled_call(
    manager: McpSessionManager, network_config: McpServerConfig, recorder: Recorder, test_id: str
) -> None:
    task = asyncio.create_task(
        call(manager, network_config, "sleep", {"seconds": 30, "label": test_id})
    )
    await eventually(lambda: test_id in recorder.sleeping)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    opened = recorder.methods(test_id).count("server/discover")

    result = await call(manager, network_config, "add", {"a": 1, "b": 2})

    assert text(result) == "3"
    assert recorder.methods(test_id).count("server/discover") == opened


async def test_cancelling_a_stdio_call_tells_the_server(
    manager: McpSessionManager, stdio_config: StdioConfig, tmp_path: Path
) -> None:
    events = tmp_path / "events"
    config = msgspec.structs.replace(stdio_config, env={"MCP_TEST_EVENTS": str(events)})
    task = asyncio.create_task(call(manager, config, "sleep", {"seconds": 30, "label": "s1"}))
    await eventually(lambda: events.exists() and "sleeping s1" in events.read_text())

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await eventually(lambda: "cancelled s1" in events.read_text())


async def test_a_hanging_server_does_not_block_others(
    manager: McpSessionManager, http_config: HttpConfig
) -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    hanging = HttpConfig(url=f"http://127.0.0.1:{port}/mcp")
    try:
        stuck = asyncio.create_task(
            call(manager, hanging, "add", config_id=uuid.UUID(int=2), timeout_s=2)
        )
        await asyncio.sleep(0.1)
        started = time.monotonic()

        result = await call(manager, http_config, "add", {"a": 1, "b": 1})

        assert text(result) == "2"
        assert time.monotonic() - started < 1
        stuck_result = await stuck
        assert stuck_result.is_error is True
        assert text(stuck_result) == "tool timed out after 2 s"
    finally:
        silent.close()
        await silent.wait_closed()


async def test_unreachable_server(manager: McpSessionManager) -> None:
    config = HttpConfig(url=f"http://127.0.0.1:{free_port()}/mcp")

    result = await call(manager, config, "add", {"a": 1, "b": 1})

    assert result.is_error is True
    assert text(result).startswith("could not reach the MCP server")
    with pytest.raises(ToolUnavailable):
        await manager.list_tools(USER, CONFIG_ID, config)


async def test_killed_stdio_server_mid_call_then_reconnects(
    manager: McpSessionManager, stdio_config: StdioConfig
) -> None:
    pid = int(text(await call(manager, stdio_config, "pid")))
    task = asyncio.create_task(call(manager, stdio_config, "sleep", {"seconds": 30}))
    await asyncio.sleep(0.3)

    os.kill(pid, signal.SIGKILL)
    result = await asyncio.wait_for(task, 5)

    assert result.is_error is True
    assert text(result) == "the stdio MCP server was killed by signal SIGKILL"
    again = await call(manager, stdio_config, "pid")
    assert again.is_error is False
    assert int(text(again)) != pid


async def test_stdio_server_gone_between_calls_reconnects(
    manager: McpSessionManager, stdio_config: StdioConfig
) -> None:
    pid = int(text(await call(manager, stdio_config, "pid")))
    os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(0.2)

    result = await call(manager, stdio_config, "pid")

    assert result.is_error is False
    assert int(text(result)) != pid


async def test_killed_http_server_mid_call_then_reconnects(
    manager: McpSessionManager, server_process: ServerProcess
) -> None:
    config = HttpConfig(url=server_process.url)
    server_process.start()
    assert text(await call(manager, config, "add", {"a": 1, "b": 1})) == "2"
    task = asyncio.create_task(call(manager, config, "sleep", {"seconds": 30}))
    await asyncio.sleep(0.3)

    server_process.kill()
    mid_call = await asyncio.wait_for(task, 5)
    while_down = await call(manager, config, "add", {"a": 1, "b": 1})
    server_process.start()
    after = await call(manager, config, "add", {"a": 2, "b": 2})

    assert mid_call.is_error is True
    assert text(mid_call) == "the connection to the MCP server was lost"
    assert while_down.is_error is True
    assert text(while_down).startswith("could not reach the MCP server")
    assert after.is_error is False
    assert text(after) == "4"


@pytest.fixture
async def strict_manager() -> AsyncIterator[McpSessionManager]:
    async with McpSessionManager(allow_private=False, stdio=None) as m:
        yield m


async def test_stdio_refused_when_not_allowed(
    strict_manager: McpSessionManager, stdio_config: StdioConfig
) -> None:
    result = await call(strict_manager, stdio_config, "pid")

    assert result.is_error is True
    assert text(result) == "config.command: this server offers no stdio MCP servers"
    with pytest.raises(ToolUnavailable, match="offers no stdio MCP servers"):
        await strict_manager.list_tools(USER, CONFIG_ID, stdio_config)


async def test_loopback_refused_when_private_not_allowed(
    strict_manager: McpSessionManager, http_config: HttpConfig, recorder: Recorder, test_id: str
) -> None:
    result = await call(strict_manager, http_config, "add", {"a": 1, "b": 1})

    assert result.is_error is True
    assert text(result) == ("MCP server address 127.0.0.1 is loopback, which is not allowed")
    with pytest.raises(ToolUnavailable, match="loopback"):
        await strict_manager.list_tools(USER, CONFIG_ID, http_config)
    assert recorder.methods(test_id) == []
