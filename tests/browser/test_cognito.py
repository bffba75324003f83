"""Cognito mode: the page signs in through the Hosted UI with PKCE and refreshes its token."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Browser, Page, expect

from faceplate.app import create_app
from tests.browser.hosted_ui import HostedUi
from tests.browser.support import Served, page_settings, screenshot_path
from tests.support.jwks import DEFAULT_CLIENT_ID, JwksServer, SigningKey, new_signing_key
from tests.support.scripted_llm import ScriptedLLM
from tests.turns.live import LiveApp

EMAIL = "cognito-user@example.com"
TTL_S = 12  # short, so that the page refreshes within the test


@pytest.fixture(scope="module")
def issuer() -> Iterator[tuple[SigningKey, JwksServer]]:
    """An issuer of this module's own, whatever other tests do to the shared one."""
    key = new_signing_key()
    with JwksServer([key]) as server:
        yield key, server


@pytest.fixture(scope="module")
def hosted_ui(issuer: tuple[SigningKey, JwksServer]) -> Iterator[HostedUi]:
    key, jwks = issuer
    with HostedUi(key=key, issuer=jwks.issuer, email=EMAIL, ttl_s=TTL_S) as ui:
        yield ui


@pytest.fixture(scope="module")
def served(
    module_database: str,
    llm: ScriptedLLM,
    mcp_url: str,
    hosted_ui: HostedUi,
) -> Iterator[Served]:
    with ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="page-")))
        settings = page_settings(
            module_database,
            data_dir,
            llm,
            FACEPLATE_AUTH="cognito",
            FACEPLATE_JWT_ISSUER=hosted_ui.issuer,
            FACEPLATE_COGNITO_CLIENT_IDS=DEFAULT_CLIENT_ID,
            FACEPLATE_SECRET_KEY=Fernet.generate_key().decode(),
            FACEPLATE_COGNITO_DOMAIN=hosted_ui.origin,
        )
        live = stack.enter_context(LiveApp(create_app(settings)))
        yield Served(url=live.http, settings=settings, llm=llm, mcp_url=mcp_url)


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    path = screenshot_path(request.node.nodeid)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    context.close()
    assert not errors, errors


def sign_in(page: Page, served: Served) -> None:
    page.goto(f"{served.url}/")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".who .email")).to_have_text(EMAIL)


def test_signing_in_through_the_hosted_ui_with_pkce(
    page: Page, served: Served, hosted_ui: HostedUi
) -> None:
    sign_in(page, served)
    assert page.url == f"{served.url}/"  # the code and state are gone from the address
    assert "authorization_code" in hosted_ui.grants
    held = page.evaluate("Object.keys(sessionStorage)")
    assert "faceplate.cognito" in held
    assert page.evaluate("Object.keys(localStorage)") == []

    served.llm.reply_text(["Signed in."])
    page.get_by_label("Message").fill("hello")
    page.get_by_label("Message").press("Enter")
    expect(page.locator(".msg.assistant[data-finish=stop]")).to_contain_text("Signed in.")


def test_the_token_is_refreshed_before_it_expires(
    page: Page, served: Served, hosted_ui: HostedUi
) -> None:
    sign_in(page, served)
    issued = len(hosted_ui.tokens)
    deadline = time.monotonic() + 3 * TTL_S
    while hosted_ui.grants[-1] != "refresh_token" and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    assert hosted_ui.grants[-1] == "refresh_token"
    assert len(hosted_ui.tokens) == issued + 1
    held = page.evaluate("JSON.parse(sessionStorage.getItem('faceplate.cognito')).id_token")
    assert held == hosted_ui.tokens[-1]
    page.get_by_role("link", name="MCP servers").click()  # a REST call with the new token
    expect(page.locator(".server-list .empty")).to_be_visible()
