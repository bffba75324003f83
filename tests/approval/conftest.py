"""Fixtures of the approval tests: the approval MCP server (streamable HTTP, modern and legacy),
a scripted model and the real app on the test database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from mcp.server.transport_security import TransportSecuritySettings
from starlette.testclient import TestClient

from faceplate.app import create_app
from tests.approval.server import Calls, build_approval_server
from tests.integration.helpers import AppFactory
from tests.mcp_client.servers import LEGACY_PREFIX, recording, serve_in_thread
from tests.mcp_client.toolbox import Recorder
from tests.support.app import dev_settings
from tests.support.scripted_llm import ScriptedLLM

_ANY_HOST = TransportSecuritySettings(enable_dns_rebinding_protection=False)


@pytest.fixture(scope="session")
def server_calls() -> Calls:
    return Calls()


@pytest.fixture(scope="session")
def approval_base(server_calls: Calls) -> Iterator[str]:
    app = build_approval_server(server_calls).streamable_http_app(transport_security=_ANY_HOST)
    with serve_in_thread(recording(app, Recorder())) as url:
        yield url


@pytest.fixture(scope="session")
def approval_url(approval_base: str) -> str:
    return f"{approval_base}/mcp"


@pytest.fixture(scope="session")
def legacy_url(approval_base: str) -> str:
    """The same server acting as a 2025-era one: questions come as server-to-client requests."""
    return f"{approval_base}{LEGACY_PREFIX}/mcp"


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture
def make_app(database_url: str, tmp_path: Path, llm: ScriptedLLM) -> Iterator[AppFactory]:
    """The real app on the test database and the scripted model; settings overridable. Every
    app made shares one data dir, so the `alice` and `bob` tokens are accepted by each."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> TestClient:
            values: dict[str, Any] = {
                "llm": "openai",
                "llm_base_url": llm.base_url,
                "llm_api_key": "test-key",
                "llm_model": llm.model,
                "tool_timeout_s": 10.0,
                **overrides,
            }
            settings = dev_settings(database_url, tmp_path / "data", **values)
            return stack.enter_context(TestClient(create_app(settings)))

        yield make


@pytest.fixture
def app(make_app: AppFactory) -> TestClient:
    return make_app()
