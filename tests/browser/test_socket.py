"""The page's socket when the network or the server goes away, and when its token is renewed."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Browser, WebSocket, expect
from websockets.sync.client import connect

from faceplate.app import create_app
from tests.browser.support import (
    Served,
    TcpProxy,
    Ui,
    new_email,
    page_settings,
    remember_email_script,
    screenshot_path,
)
from tests.support.scripted_llm import ScriptedLLM
from tests.turns.live import LiveApp

WORDS = [f"w{i} " for i in range(1, 31)]


class Restartable:
    """The app behind a TCP proxy; `restart()` stops it and serves a new one on the same data."""

    def __init__(self, stack: ExitStack, database_url: str, llm: ScriptedLLM) -> None:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="page-")))
        self.settings = page_settings(database_url, data_dir, llm)
        self.live = LiveApp(create_app(self.settings)).__enter__()
        self.proxy = TcpProxy(self.live.port).start()
        stack.callback(self.close)

    def restart(self) -> None:
        self.live.__exit__(None, None, None)
        self.live = LiveApp(create_app(self.settings)).__enter__()
        self.proxy.retarget(self.live.port)

    def close(self) -> None:
        self.proxy.stop()
        self.live.__exit__(None, None, None)


@pytest.fixture(scope="module")
def restartable(module_database: str, llm: ScriptedLLM) -> Iterator[Restartable]:
    with ExitStack() as stack:
        yield Restartable(stack, module_database, llm)


@pytest.fixture(scope="module")
def served(restartable: Restartable, llm: ScriptedLLM, mcp_url: str) -> Served:
    return Served(
        url=restartable.proxy.url, settings=restartable.settings, llm=llm, mcp_url=mcp_url
    )


def test_a_lost_connection_mid_answer_reconnects_and_catches_up(
    ui: Ui, restartable: Restartable
) -> None:
    ui.served.llm.reply_text(WORDS, delay_s=0.15)
    ui.open()
    ui.send("count slowly")
    expect(ui.page.locator(".msg.assistant .msg-text").last).to_contain_text("w3")

    restartable.proxy.drop()

    done = ui.page.locator(".msg.assistant[data-finish=stop] .msg-text")
    expect(done).to_have_text("".join(WORDS).strip())
    expect(ui.page.locator(".status")).to_be_hidden()


def test_the_page_reconnects_to_a_restarted_server_by_itself(
    ui: Ui, restartable: Restartable
) -> None:
    ui.served.llm.reply_text(["Before."])
    ui.open()
    ui.send("first")
    expect(ui.page.locator(".msg.assistant[data-finish=stop]")).to_contain_text("Before.")
    sockets: list[WebSocket] = []
    ui.page.on("websocket", lambda ws: sockets.append(ws))

    restartable.restart()

    expect(ui.page.locator(".status")).to_be_visible()  # it noticed
    expect(ui.page.locator(".status")).to_be_hidden()  # and it is back
    assert sockets, "the page opened no new socket"
    ui.served.llm.reply_text(["After."])
    ui.send("second")
    expect(ui.page.locator(".msg.assistant[data-finish=stop]").last).to_contain_text("After.")


def _replaces_tokens_on_open_sockets(served: Served) -> bool:
    """Whether a second `auth` frame on an open socket is taken (issue 11) or refused: the
    `ping` after it is answered in order, so the first answer tells."""
    email = new_email()
    token = served.headers(email)["Authorization"].removeprefix("Bearer ")
    with served.api(email) as http:
        conversation_id = http.post("/v1/conversations", json={}).json()["id"]
    url = served.url.replace("http://", "ws://") + f"/v1/conversations/{conversation_id}/ws"
    with connect(url) as ws:
        ws.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
        ws.send(json.dumps({"type": "auth", "token": token}))
        ws.send(json.dumps({"type": "ping"}))
        answer = json.loads(ws.recv(timeout=10))
        return not (answer["type"] == "error" and answer["code"] == "invalid_frame")


def test_a_refreshed_token_is_sent_on_the_open_socket(
    browser: Browser, served: Served, request: pytest.FixtureRequest
) -> None:
    if not _replaces_tokens_on_open_sockets(served):
        pytest.skip(
            "needs issue 11 (tokens on sockets): an auth frame on an open socket is refused"
        )
    context = browser.new_context()
    email = new_email()
    context.add_init_script(remember_email_script(email, ttl_s=15))
    page = context.new_page()
    sockets: list[WebSocket] = []
    page.on("websocket", lambda ws: sockets.append(ws))
    try:
        page.goto(f"{served.url}/#/new")
        served.llm.reply_text(["One."])
        page.get_by_label("Message").fill("first")
        page.get_by_label("Message").press("Enter")
        expect(page.locator(".msg.assistant[data-finish=stop]")).to_contain_text("One.")
        opened = len(sockets)
        time.sleep(22)  # past the first token's expiry: the server would have closed it 4401
        served.llm.reply_text(["Two."])
        page.get_by_label("Message").fill("second")
        page.get_by_label("Message").press("Enter")
        expect(page.locator(".msg.assistant[data-finish=stop]").last).to_contain_text("Two.")
        assert len(sockets) == opened
    finally:
        path = screenshot_path(request.node.nodeid)
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path))
        context.close()
        served.llm.clear()
