"""Fixtures of the browser tests: one Chromium and one served app per module, a user per test."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest
from mcp.server.transport_security import TransportSecuritySettings
from playwright.sync_api import Browser, Playwright, expect, sync_playwright
from psycopg.sql import SQL, Identifier

from faceplate.app import create_app
from tests.browser.support import (
    CHROMIUM_ARGS,
    Served,
    TcpProxy,
    Ui,
    chromium_path,
    new_email,
    page_settings,
    remember_email_script,
    screenshot_path,
)
from tests.browser.tools_server import build_tools_server
from tests.conftest import TEMPLATE, with_database
from tests.mcp_client.servers import serve_in_thread
from tests.support.scripted_llm import ScriptedLLM
from tests.turns.live import LiveApp

_ANY_HOST = TransportSecuritySettings(enable_dns_rebinding_protection=False)
# Assertions wait as long as actions do: a streamed answer may take several seconds.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: .ci/run installs it with apt-get")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    # Module-scoped: while it runs, the sync API holds an event loop in this thread, which
    # the asyncio tests of other modules could not start theirs beside.
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(chromium: str, playwright: Playwright) -> Iterator[Browser]:
    # launch() gives the browser a fresh temporary profile of its own, removed at close.
    instance = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def module_database(pg_server_url: str, template_url: str) -> Iterator[str]:
    name = f"b_{uuid.uuid4().hex}"
    create = SQL("CREATE DATABASE {} TEMPLATE {}").format(Identifier(name), Identifier(TEMPLATE))
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute(create)
    try:
        yield with_database(pg_server_url, name)
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as admin:
            admin.execute(SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(Identifier(name)))


@pytest.fixture(scope="session")
def mcp_url() -> Iterator[str]:
    app = build_tools_server().streamable_http_app(transport_security=_ANY_HOST)
    with serve_in_thread(app) as url:
        yield f"{url}/mcp"


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def served(module_database: str, llm: ScriptedLLM, mcp_url: str) -> Iterator[Served]:
    """The app behind a TCP proxy, whose port is known before the app is made: it is the
    app's public URL (where OAuth sends browsers back)."""
    with ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="page-")))
        proxy = TcpProxy(0).start()
        stack.callback(proxy.stop)
        settings = page_settings(module_database, data_dir, llm, FACEPLATE_PUBLIC_URL=proxy.url)
        live = stack.enter_context(LiveApp(create_app(settings)))
        proxy.retarget(live.port)
        yield Served(url=proxy.url, settings=settings, llm=llm, mcp_url=mcp_url)


@pytest.fixture
def ui(browser: Browser, served: Served, request: pytest.FixtureRequest) -> Iterator[Ui]:
    """A fresh browser context (storage and all) whose page signs in as a new user."""
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    context.set_default_timeout(15_000)
    email = new_email()
    context.add_init_script(remember_email_script(email))
    page = context.new_page()
    found = Ui(page=page, served=served, email=email)
    page.on("pageerror", lambda error: found.errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        yield found
    finally:
        path = screenshot_path(request.node.nodeid)
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path))
        context.close()
        served.llm.clear()
    assert not found.errors, found.errors
