"""MCP servers asking the user during a call (elicitation/create, form mode), through a real
SDK server over both protocol generations: a 2026 server's InputRequiredResult and a 2025
server's request on the call's stream."""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.testclient import TestClient, WebSocketTestSession

from tests.approval.helpers import notes_config, of_type, stored_requests, tool, until_any
from tests.approval.server import Calls
from tests.integration.helpers import AppFactory, Headers, new_conversation, text
from tests.support.scripted_llm import ScriptedCall, ScriptedLLM
from tests.turns.helpers import Frame, assert_numbered, connect, receive, state_of, until

ANSWER = {"colour": "teal", "sure": True}


@pytest.fixture(params=["modern", "legacy"])
def server_url(request: pytest.FixtureRequest, approval_url: str, legacy_url: str) -> str:
    return approval_url if request.param == "modern" else legacy_url


def _ask(llm: ScriptedLLM, name: str = "ask_colour", **arguments: Any) -> None:
    llm.reply_tool_calls([ScriptedCall(name=tool(name), arguments=arguments)])
    llm.reply_text(["Noted."])


def _asked(ws: WebSocketTestSession) -> Frame:
    """On a new socket: start the turn; the server's question."""
    receive(ws)
    ws.send_json({"type": "user_message", "content": "ask me"})
    return until(ws, "elicitation_request")[-1]


def _respond(ws: WebSocketTestSession, request: Frame, action: str, **content: Any) -> None:
    frame: dict[str, Any] = {
        "type": "elicitation_response",
        "elicitation_id": request["elicitation_id"],
        "action": action,
    }
    if content:
        frame["content"] = content
    ws.send_json(frame)


def _database(client: TestClient) -> str:
    url = state_of(client).settings.database_url
    assert url is not None
    return url


def test_the_server_s_question_is_answered_and_the_answer_reaches_the_tool(
    app: TestClient, alice: Headers, server_url: str, llm: ScriptedLLM, server_calls: Calls
) -> None:
    config = notes_config(app, alice, server_url)
    _ask(llm)
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        request = _asked(ws)
        assert request["config_id"] == config["id"]
        assert request["message"] == "Which colour do you like best?"
        schema = request["requested_schema"]
        assert schema["type"] == "object" and set(schema["properties"]) == {"colour", "sure"}
        assert schema["required"] == ["colour"]
        _respond(ws, request, "accept", **ANSWER)
        frames = until(ws, "turn_end")
    (answered,) = of_type(frames, "elicitation_result")
    assert (answered["elicitation_id"], answered["action"]) == (
        request["elicitation_id"],
        "accept",
    )
    (result,) = [f["tool_result"] for f in of_type(frames, "tool_result")]
    assert (result["is_error"], text(result)) == (False, "colour teal, sure: True")
    assert frames[-1]["status"] == "completed"
    (row,) = stored_requests(_database(app), conversation)
    assert (row["kind"], row["decision"], row["decided_by"], row["content"]) == (
        "elicitation",
        "accept",
        "user",
        ANSWER,
    )


def test_an_answer_that_does_not_fill_in_the_form_is_refused_and_the_question_stays(
    app: TestClient, alice: Headers, approval_url: str, llm: ScriptedLLM
) -> None:
    notes_config(app, alice, approval_url)
    _ask(llm)
    with connect(app, new_conversation(app, alice), alice) as ws:
        request = _asked(ws)
        for content, field in [
            ({"sure": True}, "content.colour"),
            ({"colour": 5}, "content.colour"),
            ({"colour": "x" * 21}, "content.colour"),
            ({"colour": "red", "sure": "yes"}, "content.sure"),
            ({"colour": "red", "shade": "dark"}, "content.shade"),
        ]:
            _respond(ws, request, "accept", **content)
            refused = receive(ws)
            assert (refused["type"], refused["code"]) == ("error", "invalid_frame"), refused
            assert field in refused["message"]
        _respond(ws, request, "decline", colour="red")
        assert receive(ws)["code"] == "invalid_frame"  # content only with accept
        _respond(ws, request, "accept", colour="red")
        frames = until(ws, "turn_end")
    assert text(of_type(frames, "tool_result")[0]["tool_result"]) == "colour red, sure: False"


@pytest.mark.parametrize("action", ["decline", "cancel"])
def test_a_declined_or_cancelled_question_tells_the_server_so(
    app: TestClient, alice: Headers, server_url: str, llm: ScriptedLLM, action: str
) -> None:
    notes_config(app, alice, server_url)
    _ask(llm)
    with connect(app, new_conversation(app, alice), alice) as ws:
        request = _asked(ws)
        _respond(ws, request, action)
        frames = until(ws, "turn_end")
    assert of_type(frames, "elicitation_result")[0]["action"] == action
    assert text(of_type(frames, "tool_result")[0]["tool_result"]) == f"no colour ({action})"


def test_an_unanswered_question_is_cancelled_by_the_timeout(
    make_app: AppFactory, alice: Headers, approval_url: str, llm: ScriptedLLM
) -> None:
    client = make_app(approval_timeout_s=1.0)
    notes_config(client, alice, approval_url)
    _ask(llm)
    conversation = new_conversation(client, alice)
    with connect(client, conversation, alice) as ws:
        request = _asked(ws)
        frames = until(ws, "turn_end")
        _respond(ws, request, "accept", **ANSWER)
        assert receive(ws)["code"] == "not_pending"
    assert of_type(frames, "elicitation_result")[0]["action"] == "cancel"
    assert text(of_type(frames, "tool_result")[0]["tool_result"]) == "no colour (cancel)"
    (row,) = stored_requests(_database(client), conversation)
    assert (row["decision"], row["decided_by"]) == ("cancel", "timeout")


def test_waiting_for_the_person_does_not_count_against_the_tool_timeout(
    make_app: AppFactory, alice: Headers, server_url: str, llm: ScriptedLLM
) -> None:
    client = make_app(tool_timeout_s=1.0)
    notes_config(client, alice, server_url)
    _ask(llm)
    with connect(client, new_conversation(client, alice), alice) as ws:
        request = _asked(ws)
        time.sleep(2.5)  # longer than the tool may take
        _respond(ws, request, "accept", **ANSWER)
        frames = until(ws, "turn_end")
    (result,) = [f["tool_result"] for f in of_type(frames, "tool_result")]
    assert (result["is_error"], text(result)) == (False, "colour teal, sure: True")
    assert result["duration_ms"] < 2500  # the call's own time, not the person's


def test_another_socket_sees_the_question_and_answers_it(
    app: TestClient, alice: Headers, approval_url: str, llm: ScriptedLLM
) -> None:
    notes_config(app, alice, approval_url)
    _ask(llm)
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        request = _asked(ws)
        with connect(app, conversation, alice) as other:
            ready = receive(other)
            assert ready["turn"]["pending"] == [request]
            _respond(other, request, "accept", **ANSWER)
            until(other, "elicitation_result")
            _respond(ws, request, "decline")
            frames = until_any(ws, "error")
            assert frames[-1]["code"] == "not_pending"
        frames += until(ws, "turn_end")
    assert of_type(frames, "elicitation_result")[0]["action"] == "accept"
    _respond_bad = {"type": "elicitation_response", "elicitation_id": "nope", "action": "cancel"}
    with connect(app, conversation, alice) as again:
        receive(again)
        again.send_json(_respond_bad)
        assert receive(again)["code"] == "not_pending"


def test_cancel_while_the_server_asks_cancels_the_question(
    app: TestClient, alice: Headers, approval_url: str, llm: ScriptedLLM
) -> None:
    notes_config(app, alice, approval_url)
    _ask(llm)
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        _asked(ws)
        ws.send_json({"type": "cancel"})
        frames = until(ws, "turn_end")
    assert of_type(frames, "elicitation_result")[0]["action"] == "cancel"
    assert text(of_type(frames, "tool_result")[0]["tool_result"]) == "cancelled"
    assert frames[-1]["status"] == "cancelled"
    (row,) = stored_requests(_database(app), conversation)
    assert (row["decision"], row["decided_by"]) == ("cancel", "cancel")


def test_url_mode_is_declined_with_a_reason(
    app: TestClient, alice: Headers, legacy_url: str, llm: ScriptedLLM
) -> None:
    notes_config(app, alice, legacy_url)
    _ask(llm, "open_page")
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "pay"})
        frames = until(ws, "turn_end")
    assert not of_type(frames, "elicitation_request")
    (result,) = [f["tool_result"] for f in of_type(frames, "tool_result")]
    assert result["is_error"] is True
    assert "URL-mode elicitation" in text(result)
    assert_numbered(frames)
