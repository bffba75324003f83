"""Two real `faceplate serve` processes on one database; the one running a turn is killed with
SIGKILL mid-stream: the other ends the turn for its sockets and the conversation goes on."""

from __future__ import annotations

import json
import signal
from contextlib import ExitStack
from pathlib import Path

import httpx
from websockets.sync.client import ClientConnection

from faceplate.auth.dev import load_or_create_secret, mint_token
from tests.integration.serve import Serve, serve_env
from tests.support.scripted_llm import ScriptedLLM


def _until(ws: ClientConnection, kind: str) -> list[dict[str, object]]:
    frames: list[dict[str, object]] = []
    while not frames or frames[-1]["type"] != kind:
        frames.append(json.loads(ws.recv(timeout=60)))
    return frames


def test_an_owner_killed_mid_stream_has_its_turn_ended_by_the_other_instance(
    database_url: str, tmp_path: Path, llm: ScriptedLLM
) -> None:
    data = tmp_path / "data"
    headers = {"Authorization": f"Bearer {mint_token(load_or_create_secret(data), email='a@x.io')}"}
    env = serve_env(database_url, data, llm, FACEPLATE_TURN_LEASE_S="2")
    llm.reply_text([f"w{i} " for i in range(5000)], delay_s=0.01)
    llm.reply_text(["after", " the crash"])
    a = Serve(env, tmp_path / "a.log")
    b = Serve(env, tmp_path / "b.log")
    try:
        with ExitStack() as stack:
            conversation = httpx.post(f"{a.url}/v1/conversations", json={}, headers=headers)
            conversation_id = conversation.json()["id"]
            on_b = b.socket(stack, conversation_id, headers)
            on_a = a.socket(stack, conversation_id, headers)
            on_a.send(json.dumps({"type": "user_message", "content": "talk"}))
            seen = _until(on_b, "text_delta")
            while sum(f["type"] == "text_delta" for f in seen) < 20:
                seen.append(json.loads(on_b.recv(timeout=30)))
            a.process.send_signal(signal.SIGKILL)
            a.process.wait()
            seen += _until(on_b, "turn_end")
            end = seen[-1]
            assert end["status"] == "failed"
            assert end["error"] == {
                "code": "interrupted",
                "message": end["error"]["message"],  # type: ignore[index]
            }
            numbered = [f["seq"] for f in seen if "seq" in f]
            assert numbered == list(range(1, len(numbered) + 1))
            stored = httpx.get(
                f"{b.url}/v1/conversations/{conversation_id}/messages", headers=headers
            ).json()["items"]
            assert stored[-1]["finish_reason"] == "interrupted"
            # What was stored is what streamed up to its last write (about a second's worth).
            streamed = "".join(str(f["delta"]) for f in seen if f["type"] == "text_delta")
            assert stored[-1]["content"].startswith("w0 ")
            assert streamed.startswith(stored[-1]["content"])
            on_b.send(json.dumps({"type": "user_message", "content": "again"}))
            after = _until(on_b, "turn_end")
            assert after[-1]["status"] == "completed"
    finally:
        b.stop()
        a.stop()
