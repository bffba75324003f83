"""Turns over real sockets: uvicorn serving the app, the `websockets` client library."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from faceplate.app import create_app
from faceplate.routes.ws_limits import SocketLimits
from faceplate.settings import Settings
from faceplate.turns.frames import CloseCode
from tests.support.scripted_llm import ScriptedLLM
from tests.turns.helpers import Frame, assert_numbered, parse, text_of
from tests.turns.live import LiveApp

CHUNKS = [f"word{i} " for i in range(40)]


@pytest.fixture
def live(openai_settings: Settings) -> Iterator[LiveApp]:
    with LiveApp(create_app(openai_settings), send_buffer=8192) as server:
        yield server


@pytest.fixture
async def http(live: LiveApp, alice: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.http, headers=alice) as client:
        yield client


async def _conversation(http: httpx.AsyncClient) -> str:
    conversation: str = (await http.post("/v1/conversations", json={})).json()["id"]
    return conversation


async def _until(ws: ClientConnection, kind: str) -> list[Frame]:
    frames = [parse(str(await ws.recv()))]
    while frames[-1]["type"] != kind:
        frames.append(parse(str(await ws.recv())))
    return frames


async def _last_message(http: httpx.AsyncClient, conversation: str) -> dict[str, Any]:
    items: list[dict[str, Any]] = (
        await http.get(f"/v1/conversations/{conversation}/messages")
    ).json()["items"]
    return items[-1]


@pytest.mark.parametrize("leave", ["close", "drop"])
async def test_leaving_mid_turn_still_stores_the_whole_answer(
    live: LiveApp,
    http: httpx.AsyncClient,
    llm: ScriptedLLM,
    alice: dict[str, str],
    leave: str,
) -> None:
    llm.reply_text(CHUNKS, delay_s=0.01)
    conversation = await _conversation(http)
    url = f"{live.ws}/v1/conversations/{conversation}/ws"
    async with connect(url, additional_headers=alice) as ws:
        await _until(ws, "ready")
        await ws.send(json.dumps({"type": "user_message", "content": "go"}))
        seen = await _until(ws, "text_delta")
        if leave == "drop":
            ws.transport.abort()  # no closing handshake: the connection just dies
    await live.run(live.state.turns.wait(UUID(conversation)))
    assistant = await _last_message(http, conversation)
    assert (assistant["content"], assistant["finish_reason"]) == ("".join(CHUNKS), "stop")
    assert len(text_of(seen)) < len(assistant["content"])


async def test_a_client_that_stops_reading_is_closed_1013_and_the_turn_goes_on(
    live: LiveApp, http: httpx.AsyncClient, llm: ScriptedLLM, alice: dict[str, str]
) -> None:
    live.state.socket_limits = SocketLimits(outbox_frames=64, outbox_chars=64 * 1024)
    chunks = [f"{'x' * 2000} {i} " for i in range(400)]  # about 800 kB of text
    llm.reply_text(chunks, delay_s=0.001)
    conversation = await _conversation(http)
    url = f"{live.ws}/v1/conversations/{conversation}/ws"
    slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", live.port))
    async with connect(url, sock=slow, additional_headers=alice, max_queue=1) as ws:
        await _until(ws, "ready")
        await ws.send(json.dumps({"type": "user_message", "content": "go"}))
        frames = await _until(ws, "turn_start")
        # Now read nothing while the whole turn streams.
        await live.run(live.state.turns.wait(UUID(conversation)))
        try:
            async for message in ws:
                frames.append(parse(str(message)))
        except ConnectionClosed:
            pass
        assert ws.close_code == CloseCode.TOO_SLOW
        assert ws.close_reason == CloseCode.TOO_SLOW.reason
    assert frames[-1]["type"] != "turn_end"  # it fell behind and was dropped…
    assert_numbered(frames)  # … after a gapless prefix of the turn
    assistant = await _last_message(http, conversation)  # … and the turn was not slowed
    assert (assistant["content"], assistant["finish_reason"]) == ("".join(chunks), "stop")
    assert text_of(frames) == assistant["content"][: len(text_of(frames))]
