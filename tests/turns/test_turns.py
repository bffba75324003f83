from __future__ import annotations

from uuid import UUID

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from faceplate.turns.frames import CloseCode
from tests.support.scripted_llm import Reply, ScriptedLLM
from tests.turns.helpers import (
    assert_numbered,
    connect,
    deltas,
    new_conversation,
    receive,
    state_of,
    stored,
    text_of,
    types,
    until,
    wait_turn,
)

CHUNKS = [f"word{i} " for i in range(40)]
ANSWER = "".join(CHUNKS)


def test_a_plain_turn_streams_in_order_and_is_stored(
    app: TestClient, alice: dict[str, str], llm: ScriptedLLM
) -> None:
    llm.reply_text(CHUNKS)
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "Say forty words"})
        frames = until(ws, "turn_end")
    kinds = types(frames)
    assert kinds[:2] == ["message", "turn_start"]
    assert set(kinds[2:-2]) == {"text_delta"}
    assert kinds[-2:] == ["message", "turn_end"]
    assert_numbered(frames)
    user, start, *streamed, assistant, end = frames
    assert set(user) == {"type", "message"}
    assert user["message"]["role"] == "user"
    assert start == {"type": "turn_start", "turn_id": start["turn_id"], "seq": 1}
    assert text_of(streamed) == ANSWER
    assert {f["message_id"] for f in streamed} == {assistant["message"]["id"]}
    assert assistant["message"]["finish_reason"] == "stop"
    assert end == {
        "type": "turn_end",
        "turn_id": start["turn_id"],
        "seq": end["seq"],
        "status": "completed",
    }
    messages = stored(app, alice, conversation)
    assert messages == [user["message"], assistant["message"]]
    assert messages[1]["content"] == ANSWER


def test_the_model_gets_the_system_prompt_and_the_history_in_order(
    app: TestClient, alice: dict[str, str], llm: ScriptedLLM
) -> None:
    llm.reply_text(["one"])
    llm.reply_text(["two"])
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        for content in ("first", "second"):
            ws.send_json({"type": "user_message", "content": content})
            until(ws, "turn_end")
    body = llm.requests[1].body
    assert [(m["role"], m["content"]) for m in body["messages"]] == [
        ("system", app.app_state["faceplate"].settings.system_prompt),
        ("user", "first"),
        ("assistant", "one"),
        ("user", "second"),
    ]
    assert "tools" not in body  # no MCP config enabled: no tools offered


def test_each_turn_numbers_its_frames_from_1(
    app: TestClient, alice: dict[str, str], llm: ScriptedLLM
) -> None:
    llm.reply_text(["a", "b"])
    llm.reply_text(["c"])
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "1"})
        first = until(ws, "turn_end")
        ws.send_json({"type": "user_message", "content": "2"})
        second = until(ws, "turn_end")
    assert_numbered(first)
    assert_numbered(second)
    assert first[1]["turn_id"] != second[1]["turn_id"]


@pytest.mark.parametrize(
    ("content", "title"),
    [
        ("Hello there\nsecond line", "Hello there"),
        ("\n\n   padded line  \nmore", "padded line"),
        ("x" * 100, "x" * 80),
    ],
)
def test_the_first_user_message_titles_the_conversation(
    app: TestClient, alice: dict[str, str], llm: ScriptedLLM, content: str, title: str
) -> None:
    llm.reply_text(["ok"])
    llm.reply_text(["ok"])
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": content})
        until(ws, "turn_end")
        ws.send_json({"type": "user_message", "content": "A later message"})
        until(ws, "turn_end")
    assert app.get(f"/v1/conversations/{conversation}", headers=alice).json()["title"] == title


def test_a_title_already_set_is_kept(
    app: TestClient, alice: dict[str, str], llm: ScriptedLLM
) -> None:
    llm.reply_text(["ok"])
    conversation = new_conversation(app, alice, title="Mine")
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "Hello"})
        until(ws, "turn_end")
    assert app.get(f"/v1/conversations/{conversation}", headers=alice).json()["title"] == "Mine"


def test_a_second_user_message_during_a_turn_gets_turn_in_progress(
    app: TestClient, alice: dict[str, str], llm: ScriptedLLM
) -> None:
    llm.reply_text(CHUNKS, delay_s=0.01)
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "first"})
        before = deltas(ws, 1)
        ws.send_json({"type": "user_message", "content": "second"})
        frames = before + until(ws, "turn_end")
    errors = [f for f in frames if f["type"] == "error"]
    assert [(e["code"], set(e)) for e in errors] == [
        ("turn_in_progress", {"type", "code", "message"})
    ]
    turn = [f for f in frames if f["type"] != "error"]
    assert_numbered(turn)
    assert text_of(turn) == ANSWER
    assert [m["content"] for m in stored(app, alice, conversation)] == ["first", ANSWER]
    assert len(llm.requests) == 1


def test_cancel_stores_the_partial_text_as_cancelled(
    app: TestClient, alice: dict[str, str], llm: ScriptedLLM
) -> None:
    llm.reply_text(CHUNKS, delay_s=0.02)
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "go"})
        frames = deltas(ws, 3)
        ws.send_json({"type": "cancel"})
        frames += until(ws, "turn_end")
    assert_numbered(frames)
    assert types(frames)[-2:] == ["message", "turn_end"]
    assert frames[-1]["status"] == "cancelled"
    assistant = frames[-2]["message"]
    assert assistant["finish_reason"] == "cancelled"
    partial = text_of(frames)
    assert assistant["content"] == partial
    assert 0 < len(partial) < len(ANSWER)
    assert stored(app, alice, conversation)[-1] == assistant


def test_cancel_from_another_socket_stops_the_turn(
    app: TestClient, alice: dict[str, str], llm: ScriptedLLM
) -> None:
    llm.reply_text(CHUNKS, delay_s=0.02)
    conversation = new_conversation(app, alice)
    with (
        connect(app, conversation, alice) as first,
        connect(app, conversation, alice) as second,
    ):
        receive(first)
        receive(second)
        first.send_json({"type": "user_message", "content": "go"})
        deltas(second, 2)
        second.send_json({"type": "cancel"})
        assert until(first, "turn_end")[-1]["status"] == "cancelled"
        assert until(second, "turn_end")[-1]["status"] == "cancelled"


def test_a_stream_broken_mid_way_stores_the_partial_text_as_error(
    app: TestClient, alice: dict[str, str], llm: ScriptedLLM
) -> None:
    llm.reply_drop(CHUNKS, after=5)
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "go"})
        frames = until(ws, "turn_end")
    assert_numbered(frames)
    end = frames[-1]
    assert end["status"] == "failed"
    assert end["error"]["code"] == "upstream_error"
    assert set(end["error"]) == {"code", "message"}
    assistant = frames[-2]["message"]
    assert (assistant["finish_reason"], assistant["content"]) == ("error", "".join(CHUNKS[:5]))
    assert stored(app, alice, conversation)[-1] == assistant


def test_a_model_http_error_fails_the_turn(
    app: TestClient, alice: dict[str, str], llm: ScriptedLLM
) -> None:
    llm.reply_error(500, "overloaded")
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "go"})
        frames = until(ws, "turn_end")
    assert types(frames) == ["message", "turn_start", "message", "turn_end"]
    assert frames[-1]["status"] == "failed"
    assert frames[2]["message"]["finish_reason"] == "error"
    # The failed step stays in the history, and the next turn works.
    llm.reply_text(["fine now"])
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "again"})
        assert until(ws, "turn_end")[-1]["status"] == "completed"


def test_closing_the_socket_mid_turn_still_stores_the_whole_answer(
    app: TestClient, alice: dict[str, str], llm: ScriptedLLM
) -> None:
    llm.reply_text(CHUNKS, delay_s=0.005)
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "go"})
        deltas(ws, 2)
    wait_turn(app, conversation)
    assistant = stored(app, alice, conversation)[-1]
    assert (assistant["content"], assistant["finish_reason"]) == (ANSWER, "stop")


def test_a_socket_joining_mid_turn_gets_the_text_so_far_then_live_deltas(
    app: TestClient, alice: dict[str, str], llm: ScriptedLLM
) -> None:
    llm.reply_text(CHUNKS, delay_s=0.02)
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as first:
        receive(first)
        first.send_json({"type": "user_message", "content": "go"})
        seen = deltas(first, 3)
        with connect(app, conversation, alice) as second:
            ready = receive(second)
            catch_up = receive(second)
            live = until(second, "turn_end")
        seen += until(first, "turn_end")
    turn = ready["turn"]
    assert turn["turn_id"] == seen[1]["turn_id"]
    assert turn["seq"] >= 4
    assert catch_up == {
        "type": "text_delta",
        "turn_id": turn["turn_id"],
        "seq": turn["seq"],
        "message_id": turn["message_id"],
        "delta": text_of([f for f in seen if f.get("seq", 0) <= turn["seq"]]),
    }
    assert [f["seq"] for f in live] == list(range(turn["seq"] + 1, seen[-1]["seq"] + 1))
    assert live == [f for f in seen if f.get("seq", 0) > turn["seq"]]
    assert catch_up["delta"] + text_of(live) == ANSWER


def test_deleting_the_conversation_cancels_its_turn(
    app: TestClient, alice: dict[str, str], llm: ScriptedLLM
) -> None:
    llm.reply_text(CHUNKS, delay_s=0.02)
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "go"})
        frames = deltas(ws, 2)
        assert app.delete(f"/v1/conversations/{conversation}", headers=alice).status_code == 204
        frames += until(ws, "turn_end")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert (closed.value.code, closed.value.reason) == (4404, CloseCode.NOT_FOUND.reason)
    assert frames[-1]["status"] == "cancelled"
    assert_numbered(frames)
    assert state_of(app).turns.running(UUID(conversation)) is None
    assert app.get(f"/v1/conversations/{conversation}", headers=alice).status_code == 404


def test_a_reply_with_usage_and_length_finish_is_stored_as_length(
    app: TestClient, alice: dict[str, str], llm: ScriptedLLM
) -> None:
    llm.reply(Reply(text=["cut"], finish="length", usage=(3, 1)))
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "go"})
        frames = until(ws, "turn_end")
    assert frames[-2]["message"]["finish_reason"] == "length"
    assert frames[-1]["status"] == "completed"
