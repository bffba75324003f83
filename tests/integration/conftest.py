"""Fixtures of the end-to-end MCP tests: real MCP servers, a scripted model, the real app."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from mcp.server.transport_security import TransportSecuritySettings
from starlette.testclient import TestClient

from faceplate.app import create_app
from tests.integration.helpers import AppFactory, EventRecorder
from tests.mcp_client.servers import recording, serve_in_thread
from tests.mcp_client.stdio_support import TOOLBOX_SERVER, entry, write_servers
from tests.mcp_client.toolbox import build_server
from tests.support.app import dev_settings
from tests.support.scripted_llm import ScriptedLLM

# The servers are reached as 127.0.0.1 and as whatever a config says: no DNS rebinding check.
_ANY_HOST = TransportSecuritySettings(enable_dns_rebinding_protection=False)


@pytest.fixture(scope="session")
def mcp_recorder() -> EventRecorder:
    return EventRecorder()


@pytest.fixture(scope="session")
def mcp_http_url(mcp_recorder: EventRecorder) -> Iterator[str]:
    """The streamable HTTP MCP server's endpoint, shared by every test (told apart by X-Test)."""
    app = build_server(mcp_recorder.event).streamable_http_app(transport_security=_ANY_HOST)
    with serve_in_thread(recording(app, mcp_recorder)) as url:
        yield f"{url}/mcp"


@pytest.fixture(scope="session")
def mcp_sse_url(mcp_recorder: EventRecorder) -> Iterator[str]:
    app = build_server(mcp_recorder.event).sse_app(transport_security=_ANY_HOST)
    with serve_in_thread(recording(app, mcp_recorder)) as url:
        yield f"{url}/sse"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A loopback port that accepts TCP connections and never answers a byte."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/mcp"


@pytest.fixture
def test_id() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture
def make_app(database_url: str, tmp_path: Path, llm: ScriptedLLM) -> Iterator[AppFactory]:
    """The real app on the test database, talking to the scripted model; settings overridable.

    Every app made shares the data dir of the `alice` fixture, so her token is accepted.
    """
    servers = write_servers(tmp_path / "servers.json", [entry(TOOLBOX_SERVER)])
    with ExitStack() as stack:

        def make(**overrides: Any) -> TestClient:
            values: dict[str, Any] = {
                "llm": "openai",
                "llm_base_url": llm.base_url,
                "llm_api_key": "test-key",
                "llm_model": llm.model,
                "mcp_stdio_servers": servers,
                "tool_timeout_s": 10.0,
                **overrides,
            }
            settings = dev_settings(database_url, tmp_path / "data", **values)
            return stack.enter_context(TestClient(create_app(settings)))

        yield make


@pytest.fixture
def app(make_app: AppFactory) -> TestClient:
    return make_app()
