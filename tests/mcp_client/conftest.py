"""Fixtures of the MCP client tests: real servers over every transport, and a session manager."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from mcp.server.transport_security import TransportSecuritySettings

from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.mcp_client.stdio.runtime import StdioRuntime
from faceplate.structs import HttpConfig, SseConfig, StdioConfig
from tests.mcp_client.servers import HERE, LEGACY_PREFIX, ServerProcess, recording, serve_in_thread
from tests.mcp_client.stdio_support import TOOLBOX_SERVER, entry, runtime
from tests.mcp_client.toolbox import Recorder, build_server

# The tests reach the servers under made-up names too (see test_guard.py).
ANY_HOST = TransportSecuritySettings(enable_dns_rebinding_protection=False)


@pytest.fixture(scope="session")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="session")
def http_url(recorder: Recorder) -> Iterator[str]:
    """Base URL of the streamable HTTP server: /mcp speaks 2026, /legacy/mcp only 2025."""
    app = build_server(recorder.event).streamable_http_app(transport_security=ANY_HOST)
    with serve_in_thread(recording(app, recorder)) as url:
        yield url


@pytest.fixture(scope="session")
def sse_url(recorder: Recorder) -> Iterator[str]:
    app = build_server(recorder.event).sse_app(transport_security=ANY_HOST)
    with serve_in_thread(recording(app, recorder)) as url:
        yield f"{url}/sse"


@pytest.fixture
def server_process() -> Iterator[ServerProcess]:
    process = ServerProcess()
    try:
        yield process
    finally:
        process.kill()


@pytest.fixture
def stdio(tmp_path: Path) -> StdioRuntime:
    """The toolbox server as the one stdio server offered, run without a sandbox: these tests
    kill it by pid (the sandbox's own tests are in test_stdio_sandbox.py)."""
    return runtime(tmp_path, [entry(TOOLBOX_SERVER, env=["MCP_TEST_EVENTS", "API_TOKEN"])])


@pytest.fixture
async def manager(stdio: StdioRuntime) -> AsyncIterator[McpSessionManager]:
    async with McpSessionManager(allow_private=True, stdio=stdio) as m:
        yield m


@pytest.fixture
def test_id() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def http_config(http_url: str, test_id: str) -> HttpConfig:
    return HttpConfig(url=f"{http_url}/mcp", headers={"X-Test": test_id})


@pytest.fixture
def legacy_config(http_url: str, test_id: str) -> HttpConfig:
    return HttpConfig(url=f"{http_url}{LEGACY_PREFIX}/mcp", headers={"X-Test": test_id})


@pytest.fixture
def sse_config(sse_url: str, test_id: str) -> SseConfig:
    return SseConfig(url=sse_url, headers={"X-Test": test_id})


@pytest.fixture
def stdio_config() -> StdioConfig:
    return StdioConfig(command=sys.executable, args=[str(HERE / "stdio_server.py")])
