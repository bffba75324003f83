"""Helpers shared by the MCP client tests."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.structs import McpServerConfig, TextBlock, ToolResult

USER = uuid.UUID("018f0000-0000-7000-8000-000000000001")
CONFIG_ID = uuid.UUID("018f0000-0000-7000-8000-0000000000c1")


def text(result: ToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextBlock))


async def call(
    manager: McpSessionManager,
    config: McpServerConfig,
    tool: str,
    arguments: dict[str, object] | None = None,
    *,
    config_id: uuid.UUID = CONFIG_ID,
    timeout_s: float = 10.0,
) -> ToolResult:
    return await manager.call_tool(
        USER,
        config_id,
        config,
        tool,
        dict(arguments or {}),
        tool_call_id="call-1",
        display_name=f"test__{tool}",
        timeout_s=timeout_s,
    )


async def eventually(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not check():
            await asyncio.sleep(0.02)


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[list[str]]]) -> None:
    """Answer this loop's name lookups from `answers`: a list of addresses per lookup, the last
    one repeating. A name not in `answers` does not resolve."""
    loop = asyncio.get_running_loop()
    asked: dict[str, int] = {}

    async def getaddrinfo(host: str, port: int, **_: Any) -> list[Any]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        n = asked[host] = asked.get(host, -1) + 1
        ips = answers[host][min(n, len(answers[host]) - 1)]
        return [(_family(ip), socket.SOCK_STREAM, 6, "", (ip, port)) for ip in ips]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)


def _family(ip: str) -> socket.AddressFamily:
    version = ipaddress.ip_address(ip.partition("%")[0]).version
    return socket.AF_INET6 if version == 6 else socket.AF_INET
