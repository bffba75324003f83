"""The offline echo model through the whole app, as `faceplate serve` runs by default."""

from __future__ import annotations

from starlette.testclient import TestClient

from faceplate.agents.echo import LABEL
from tests.turns.helpers import (
    assert_numbered,
    connect,
    deltas,
    new_conversation,
    receive,
    stored,
    text_of,
    until,
    wait_turn,
)


def test_a_user_sees_the_answer_stream_and_finds_it_stored_after_leaving(
    client: TestClient, alice: dict[str, str]
) -> None:
    words = " ".join(f"w{i}" for i in range(200))
    conversation = new_conversation(client, alice)
    with connect(client, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": words})
        seen = deltas(ws, 1)
    wait_turn(client, conversation)
    messages = stored(client, alice, conversation)
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assistant = messages[1]
    assert (assistant["content"], assistant["finish_reason"]) == (LABEL + words, "stop")
    assert assistant["content"].startswith(text_of(seen))


def test_an_echo_tool_call_without_mcp_configs_gets_an_error_result_and_an_answer(
    client: TestClient, alice: dict[str, str]
) -> None:
    conversation = new_conversation(client, alice)
    with connect(client, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": '/call files__read {"path": "a"}'})
        frames = until(ws, "turn_end")
    assert_numbered(frames)
    result = next(f["tool_result"] for f in frames if f["type"] == "tool_result")
    assert (result["name"], result["is_error"]) == ("files__read", True)
    assert text_of(frames) == f"{LABEL}tool files__read failed: unknown tool files__read"
    roles = [m["role"] for m in stored(client, alice, conversation)]
    assert roles == ["user", "assistant", "tool", "assistant"]
