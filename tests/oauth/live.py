"""The real app served by uvicorn with OAuth on: its public URL is its own, so the browser's
return from the authorization server reaches its callback over real HTTP."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from faceplate.app import create_app
from tests.support.app import dev_settings
from tests.support.scripted_llm import ScriptedLLM
from tests.support.server import LateApp
from tests.turns.helpers import Frame, parse
from tests.turns.live import LiveApp

Headers = dict[str, str]
LiveFactory = Callable[..., LiveApp]


@contextmanager
def live_apps(database_url: str, data_dir: Path, llm: ScriptedLLM) -> Iterator[LiveFactory]:
    """Makes apps on one database and data dir (so one dev token and one secret key serve all)."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> LiveApp:
            late = LateApp()
            live = LiveApp(late)
            values: dict[str, Any] = {
                "llm": "openai",
                "llm_base_url": llm.base_url,
                "llm_api_key": "test-key",
                "llm_model": llm.model,
                "tool_timeout_s": 10.0,
                "public_url": live.http,
                **overrides,
            }
            late.inner = create_app(dev_settings(database_url, data_dir, **values))
            return stack.enter_context(live)

        yield make


class Page:
    def __init__(self, status: int, headers: dict[str, str], body: str) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def browser_get(url: str) -> Page:
    """One GET as a browser sends it, redirects not followed (plain http.client: it logs
    nothing, so the tests of what the service logs see only the service)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}" if parts.query else parts.path)
        response = connection.getresponse()
        body = response.read().decode()
    finally:
        connection.close()
    headers = {k.lower(): v for k, v in response.getheaders()}
    return Page(response.status, headers, body)


def authorize_in_browser(authorization_url: str) -> Page:
    """Follow the authorization URL to the authorization server, then back to the callback."""
    approved = browser_get(authorization_url)
    assert approved.status == 302, approved.body
    return browser_get(approved.headers["location"])


def create_config(
    client: httpx.Client, url: str, *, name: str = "tracker", **extra: Any
) -> dict[str, Any]:
    config = {"transport": "streamable_http", "url": url, **extra}
    response = client.post("/v1/mcp-configs", json={"name": name, "config": config})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def start(client: httpx.Client, config_id: str) -> str:
    response = client.post(f"/v1/mcp-configs/{config_id}/oauth")
    assert response.status_code == 200, response.text
    url: str = response.json()["authorization_url"]
    return url


def oauth_of(client: httpx.Client, config_id: str) -> Any:
    response = client.get(f"/v1/mcp-configs/{config_id}")
    assert response.status_code == 200, response.text
    return response.json()["oauth"]


async def turn_frames(live: LiveApp, headers: Headers, content: str = "go") -> list[Frame]:
    """Every frame of one turn in a new conversation, over a real WebSocket."""
    from websockets.asyncio.client import connect

    async with httpx.AsyncClient(base_url=live.http, headers=headers) as client:
        conversation = (await client.post("/v1/conversations", json={})).json()["id"]
    frames: list[Frame] = []
    async with connect(
        f"{live.ws}/v1/conversations/{conversation}/ws", additional_headers=headers
    ) as ws:
        assert parse(str(await ws.recv()))["type"] == "ready"
        await ws.send(json.dumps({"type": "user_message", "content": content}))
        while not frames or frames[-1]["type"] != "turn_end":
            frames.append(parse(str(await ws.recv())))
    return frames
