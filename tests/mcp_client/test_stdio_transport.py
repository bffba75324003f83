"""The stdio transport with real children: a bounded line, and why a server went away."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from faceplate.mcp_client.errors import ToolUnavailable
from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.mcp_client.stdio.runtime import MAX_LINE_BYTES
from faceplate.structs import StdioConfig
from tests.mcp_client.stdio_support import PROBE, config, entry, requires_bwrap, runtime
from tests.mcp_client.support import CONFIG_ID, USER, call, text

SANDBOXES = ["none", pytest.param("bwrap", marks=requires_bwrap)]
PROBE_ENV = ["PROBE_DIE_AT_START"]
MIB = 1024 * 1024


@pytest.fixture(params=SANDBOXES)
async def manager(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[McpSessionManager]:
    stdio = runtime(tmp_path, [entry(PROBE, env=PROBE_ENV)], sandbox=request.param)
    async with McpSessionManager(allow_private=True, stdio=stdio) as m:
        yield m


def _status(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(field)


async def test_an_endless_line_ends_the_call_with_the_size_and_holds_no_memory(
    manager: McpSessionManager,
) -> None:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # the peak (VmHWM) restarts from now
    before = _status("VmRSS")

    result = await call(manager, config(PROBE), "flood", {"mib": 200}, timeout_s=60)

    grown, peak = _status("VmRSS") - before, _status("VmHWM") - before
    assert result.is_error is True
    assert text(result) == (
        f"the stdio MCP server sent a message larger than 8 MiB ({MAX_LINE_BYTES} bytes), "
        "the most one message may be, so the connection was closed"
    )
    assert grown < 64 * MIB, grown
    assert peak < 64 * MIB, peak


async def test_the_cap_is_on_the_message_not_on_the_stream(tmp_path: Path) -> None:
    stdio = runtime(tmp_path, [entry(PROBE)], max_line_bytes=64 * 1024)
    async with McpSessionManager(allow_private=True, stdio=stdio) as m:
        # The answer holds the text twice (content and structured content): 2 x 20,000 fits.
        fits = [await call(m, config(PROBE), "echo", {"text": "a" * 20_000}) for _ in range(5)]
        over = await call(m, config(PROBE), "echo", {"text": "b" * 40_000})

    assert [text(result) for result in fits] == ["a" * 20_000] * 5
    assert over.is_error is True
    assert text(over).startswith("the stdio MCP server sent a message larger than 64 KiB (65536")


async def test_a_server_that_exits_mid_call_says_how_with_its_last_stderr_line(
    manager: McpSessionManager,
) -> None:
    arguments = {"status": 3, "last_words": "fatal: token rejected by api.example.com"}

    result = await call(manager, config(PROBE), "die", arguments)

    assert result.is_error is True
    assert text(result) == (
        "the stdio MCP server exited with status 3: fatal: token rejected by api.example.com"
    )


async def test_a_server_that_does_not_start_says_so_when_listing(
    manager: McpSessionManager,
) -> None:
    dying = config(PROBE, {"PROBE_DIE_AT_START": "1"})

    with pytest.raises(ToolUnavailable) as raised:
        await manager.list_tools(USER, CONFIG_ID, dying)

    assert raised.value.message == (
        "the stdio MCP server exited with status 3: probe: refusing to start"
    )


async def test_stderr_goes_to_the_log_with_the_config_id_one_bounded_line_at_a_time(
    manager: McpSessionManager, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="faceplate.mcp_client.stdio.transport")
    long_words = "w" * 10_000

    result = await call(manager, config(PROBE), "die", {"status": 1, "last_words": long_words})

    lines = [r.getMessage() for r in caplog.records if str(CONFIG_ID) in r.getMessage()]
    assert f"stdio server of config {CONFIG_ID}: probe: started" in lines
    assert f"stdio server of config {CONFIG_ID}: a line before" in lines
    long = next(line for line in lines if "wwww" in line and "exited" not in line)
    assert long.endswith(" … [8000 more bytes]")
    assert len(long) < 2100
    assert len(text(result)) < 400
    assert text(result).startswith("the stdio MCP server exited with status 1: wwww")


async def test_a_command_gone_since_the_start_is_not_installed(tmp_path: Path) -> None:
    script = tmp_path / "server.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    stdio = runtime(tmp_path, [{"command": str(script)}])
    os.unlink(script)
    async with McpSessionManager(allow_private=True, stdio=stdio) as m:
        with pytest.raises(ToolUnavailable, match="is not installed"):
            await m.list_tools(USER, CONFIG_ID, StdioConfig(command=str(script)))
