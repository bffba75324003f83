"""A real `faceplate serve` stopped by SIGTERM: no new turns, running ones finish or are
stopped at the grace period, every socket gets its turn_end before a 1012 close; and
`serve --workers 2` behaves as one service."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from faceplate.auth.dev import load_or_create_secret, mint_token
from tests.integration.serve import Serve, serve_env
from tests.support.scripted_llm import ScriptedLLM


def _frames_until_closed(ws: ClientConnection) -> tuple[list[dict[str, Any]], int | None]:
    frames: list[dict[str, Any]] = []
    try:
        while True:
            frames.append(json.loads(ws.recv(timeout=60)))
    except ConnectionClosed as e:
        return frames, None if e.rcvd is None else e.rcvd.code


@pytest.fixture
def alice(tmp_path: Path) -> dict[str, str]:
    token = mint_token(load_or_create_secret(tmp_path / "data"), email="alice@example.com")
    return {"Authorization": f"Bearer {token}"}


def _conversation(serve: Serve, headers: dict[str, str]) -> str:
    response = httpx.post(f"{serve.url}/v1/conversations", json={}, headers=headers)
    assert response.status_code == 201
    conversation_id: str = response.json()["id"]
    return conversation_id


@pytest.fixture
def stopping(database_url: str, tmp_path: Path, llm: ScriptedLLM) -> Iterator[Serve]:
    env = serve_env(database_url, tmp_path / "data", llm, FACEPLATE_SHUTDOWN_GRACE_S="2")
    serve = Serve(env, tmp_path / "serve.log")
    try:
        yield serve
    finally:
        serve.stop()


def test_sigterm_lets_a_short_turn_finish_then_closes_1012(
    stopping: Serve, llm: ScriptedLLM, alice: dict[str, str]
) -> None:
    llm.reply_text([f"w{i} " for i in range(40)], delay_s=0.02)
    conversation = _conversation(stopping, alice)
    with ExitStack() as stack:
        ws = stopping.socket(stack, conversation, alice)
        other = stopping.socket(stack, conversation, alice)
        ws.send(json.dumps({"type": "user_message", "content": "talk"}))
        while json.loads(ws.recv(timeout=10))["type"] != "text_delta":
            pass
        stopping.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        other.send(json.dumps({"type": "user_message", "content": "another"}))
        frames, code = _frames_until_closed(ws)
        others, other_code = _frames_until_closed(other)
    ends = [f for f in frames if f["type"] == "turn_end"]
    assert [e["status"] for e in ends] == ["completed"]
    assert frames[-1]["type"] == "turn_end" and code == 1012
    refused = [f for f in others if f["type"] == "error"]
    assert [f["code"] for f in refused] == ["unavailable"]
    assert others[-1]["type"] == "turn_end" and other_code == 1012


def test_sigterm_stops_a_turn_past_the_grace_period_interrupted(
    stopping: Serve, llm: ScriptedLLM, alice: dict[str, str]
) -> None:
    llm.reply_text([f"w{i} " for i in range(3000)], delay_s=0.01)
    conversation = _conversation(stopping, alice)
    with ExitStack() as stack:
        ws = stopping.socket(stack, conversation, alice)
        ws.send(json.dumps({"type": "user_message", "content": "talk"}))
        while json.loads(ws.recv(timeout=10))["type"] != "text_delta":
            pass
        stopping.process.send_signal(signal.SIGTERM)
        frames, code = _frames_until_closed(ws)
    end = frames[-1]
    assert (end["type"], end["status"], end["error"]["code"]) == (
        "turn_end",
        "failed",
        "interrupted",
    )
    assert frames[-2]["message"]["finish_reason"] == "interrupted"
    assert code == 1012


def test_two_workers_are_one_service(
    database_url: str, tmp_path: Path, llm: ScriptedLLM, alice: dict[str, str]
) -> None:
    chunks = [f"w{i} " for i in range(30)]
    llm.reply_text(chunks, delay_s=0.01)
    serve = Serve(
        serve_env(database_url, tmp_path / "data", llm), tmp_path / "serve.log", "--workers", "2"
    )
    try:
        with ExitStack() as stack:
            conversation = _conversation(serve, alice)
            sockets = [serve.socket(stack, conversation, alice) for _ in range(6)]
            sockets[0].send(json.dumps({"type": "user_message", "content": "talk"}))
            seen = []
            for ws in sockets:
                frames = []
                while not frames or frames[-1]["type"] != "turn_end":
                    frames.append(json.loads(ws.recv(timeout=30)))
                seen.append(frames)
                assert all(frames == seen[0] for frames in seen)
            assert "".join(f["delta"] for f in seen[0] if f["type"] == "text_delta") == "".join(
                chunks
            )
    finally:
        serve.stop()
