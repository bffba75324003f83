"""A turn that asks before a call: approval_request after tool_call, the wait, allow, deny,
remember, timeout, cancel, answers from other sockets and after a reconnect, a step with calls
that need no approval, and answers to nothing pending."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from tests.approval.helpers import (
    notes_config,
    of_type,
    stored_requests,
    tool,
    until_any,
)
from tests.approval.server import Calls
from tests.integration.helpers import AppFactory, Headers, new_conversation, text
from tests.support.scripted_llm import ScriptedCall, ScriptedLLM
from tests.turns.helpers import assert_numbered, connect, receive, state_of, types, until


def app_database(client: TestClient) -> str:
    url = state_of(client).settings.database_url
    assert url is not None
    return url


def _delete_then_answer(llm: ScriptedLLM, name: str, answer: str = "Done.") -> None:
    llm.reply_tool_calls([ScriptedCall(name=tool("delete_note"), arguments={"name": name})])
    llm.reply_text([answer])


def test_a_call_that_needs_approval_waits_and_runs_once_allowed(
    app: TestClient, alice: Headers, approval_url: str, llm: ScriptedLLM, server_calls: Calls
) -> None:
    config = notes_config(app, alice, approval_url, tool_approval="writes")
    _delete_then_answer(llm, "allowed-1")
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        assert receive(ws)["type"] == "ready"
        ws.send_json({"type": "user_message", "content": "delete allowed-1"})
        frames = until(ws, "approval_request")
        request = frames[-1]
        call = of_type(frames, "tool_call")[0]["tool_call"]
        assert request["tool_call"] == call
        assert (request["config_id"], request["tool"]) == (config["id"], "delete_note")
        assert request["annotations"] == {"destructiveHint": True}
        assert types(frames)[-3:] == ["tool_call", "message", "approval_request"]
        assert server_calls.of("delete_note").count("allowed-1") == 0  # it waits

        ws.send_json({"type": "approval", "tool_call_id": call["id"], "decision": "allow"})
        frames += until(ws, "turn_end")
    assert_numbered(frames)
    (decided,) = of_type(frames, "approval_result")
    assert (decided["tool_call_id"], decided["decision"], decided["by"]) == (
        call["id"],
        "allow",
        "user",
    )
    (result,) = [f["tool_result"] for f in of_type(frames, "tool_result")]
    assert (result["is_error"], text(result)) == (False, "deleted allowed-1")
    assert types(frames).index("approval_result") < types(frames).index("tool_result")
    assert frames[-1]["status"] == "completed"
    assert server_calls.of("delete_note").count("allowed-1") == 1
    (row,) = stored_requests(app_database(app), conversation)
    assert (row["kind"], row["tool"], row["decision"], row["decided_by"]) == (
        "approval",
        "delete_note",
        "allow",
        "user",
    )
    assert row["frame"]["tool_call"]["id"] == call["id"]


def test_a_denied_call_is_an_error_result_and_the_turn_goes_on(
    app: TestClient, alice: Headers, approval_url: str, llm: ScriptedLLM, server_calls: Calls
) -> None:
    notes_config(app, alice, approval_url, tool_approval="writes")
    _delete_then_answer(llm, "denied-1", "Not deleted.")
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "delete denied-1"})
        request = until(ws, "approval_request")[-1]
        ws.send_json(
            {"type": "approval", "tool_call_id": request["tool_call"]["id"], "decision": "deny"}
        )
        frames = until(ws, "turn_end")
    decided = of_type(frames, "approval_result")[0]
    assert (decided["decision"], decided["by"]) == ("deny", "user")
    (result,) = [f["tool_result"] for f in of_type(frames, "tool_result")]
    assert (result["is_error"], text(result)) == (True, "denied by the user")
    assert result["duration_ms"] == 0
    assert frames[-1]["status"] == "completed"
    assert "Not deleted." in "".join(f.get("delta", "") for f in frames)
    assert server_calls.of("delete_note").count("denied-1") == 0
    sent = llm.requests[-1].body["messages"][-1]
    assert sent["role"] == "tool" and "denied by the user" in sent["content"]


@pytest.mark.parametrize("decision", ["allow", "deny"])
def test_a_remembered_answer_becomes_the_tool_s_policy(
    app: TestClient, alice: Headers, approval_url: str, llm: ScriptedLLM, decision: str
) -> None:
    config = notes_config(app, alice, approval_url, tool_approval="always")
    _delete_then_answer(llm, f"remember-{decision}")
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "delete"})
        request = until(ws, "approval_request")[-1]
        answer = {"tool_call_id": request["tool_call"]["id"], "decision": decision}
        ws.send_json({"type": "approval", **answer, "remember": True})
        until(ws, "turn_end")
        got = app.get(f"/v1/mcp-configs/{config['id']}", headers=alice).json()
        assert got["tool_policies"] == {"delete_note": decision}

        # The next call of that tool is not asked about (or, denied, not even offered).
        _delete_then_answer(llm, f"remember-{decision}-2")
        ws.send_json({"type": "user_message", "content": "again"})
        frames = until(ws, "turn_end")
    assert not of_type(frames, "approval_request")
    offered = [t["function"]["name"] for t in llm.requests[-2].body.get("tools") or ()]
    assert (tool("delete_note") in offered) is (decision == "allow")
    (row,) = stored_requests(app_database(app), conversation)
    assert row["remember"] is True


def test_an_unanswered_request_is_denied_by_timeout(
    make_app: AppFactory, alice: Headers, approval_url: str, llm: ScriptedLLM, server_calls: Calls
) -> None:
    client = make_app(approval_timeout_s=1.0)
    notes_config(client, alice, approval_url, tool_approval="writes")
    _delete_then_answer(llm, "timeout-1")
    conversation = new_conversation(client, alice)
    with connect(client, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "delete"})
        request = until(ws, "approval_request")[-1]
        frames = until(ws, "turn_end")
        # Too late: it is no longer pending.
        ws.send_json(
            {"type": "approval", "tool_call_id": request["tool_call"]["id"], "decision": "allow"}
        )
        late = receive(ws)
    decided = of_type(frames, "approval_result")[0]
    assert (decided["decision"], decided["by"]) == ("deny", "timeout")
    (result,) = [f["tool_result"] for f in of_type(frames, "tool_result")]
    assert result["is_error"] and text(result).startswith("denied: no answer")
    assert (late["type"], late["code"]) == ("error", "not_pending")
    assert server_calls.of("delete_note").count("timeout-1") == 0
    (row,) = stored_requests(app_database(client), conversation)
    assert (row["decision"], row["decided_by"]) == ("deny", "timeout")


def test_cancel_ends_the_wait(
    app: TestClient, alice: Headers, approval_url: str, llm: ScriptedLLM, server_calls: Calls
) -> None:
    notes_config(app, alice, approval_url, tool_approval="writes")
    _delete_then_answer(llm, "cancel-1")
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "delete"})
        request = until(ws, "approval_request")[-1]
        ws.send_json({"type": "cancel"})
        frames = until(ws, "turn_end")
        ws.send_json(
            {"type": "approval", "tool_call_id": request["tool_call"]["id"], "decision": "allow"}
        )
        late = receive(ws)
    assert types(frames) == ["approval_result", "tool_result", "message", "turn_end"]
    decided = frames[0]
    assert (decided["decision"], decided["by"]) == ("deny", "cancel")
    assert text(frames[1]["tool_result"]) == "cancelled"
    assert frames[-1]["status"] == "cancelled"
    assert late["code"] == "not_pending"
    assert server_calls.of("delete_note").count("cancel-1") == 0
    (row,) = stored_requests(app_database(app), conversation)
    assert (row["decision"], row["decided_by"]) == ("deny", "cancel")


def test_a_second_socket_sees_the_request_and_answers_it_the_first_answer_wins(
    app: TestClient, alice: Headers, approval_url: str, llm: ScriptedLLM
) -> None:
    notes_config(app, alice, approval_url, tool_approval="writes")
    _delete_then_answer(llm, "second-1")
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as first:
        receive(first)
        first.send_json({"type": "user_message", "content": "delete"})
        request = until(first, "approval_request")[-1]
        with connect(app, conversation, alice) as second:
            ready = receive(second)
            assert ready["turn"]["pending"] == [request]
            call_id = request["tool_call"]["id"]
            second.send_json({"type": "approval", "tool_call_id": call_id, "decision": "allow"})
            seen_by_second = until(second, "approval_result")[-1]
            first.send_json({"type": "approval", "tool_call_id": call_id, "decision": "deny"})
            frames = until_any(first, "error")
            assert frames[-1]["code"] == "not_pending"
            frames += until(first, "turn_end")
            until(second, "turn_end")
    (decided,) = of_type(frames, "approval_result")
    assert decided == seen_by_second
    assert (decided["decision"], decided["by"]) == ("allow", "user")


def test_a_request_survives_the_socket_and_is_answered_after_a_reconnect(
    app: TestClient, alice: Headers, approval_url: str, llm: ScriptedLLM, server_calls: Calls
) -> None:
    notes_config(app, alice, approval_url, tool_approval="writes")
    _delete_then_answer(llm, "reconnect-1")
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "delete"})
        request = until(ws, "approval_request")[-1]
    time.sleep(0.2)  # the tab is closed a while; the turn waits on
    with connect(app, conversation, alice) as ws:
        ready = receive(ws)
        assert ready["turn"]["pending"] == [request]
        assert ready["turn"]["message_id"] is None
        ws.send_json(
            {"type": "approval", "tool_call_id": request["tool_call"]["id"], "decision": "allow"}
        )
        frames = until(ws, "turn_end")
    assert of_type(frames, "approval_result")[0]["by"] == "user"
    assert server_calls.of("delete_note").count("reconnect-1") == 1
    with connect(app, conversation, alice) as ws:
        assert receive(ws)["turn"] is None


def test_calls_that_need_no_approval_start_at_once(
    app: TestClient, alice: Headers, approval_url: str, llm: ScriptedLLM, server_calls: Calls
) -> None:
    notes_config(app, alice, approval_url, tool_approval="writes")
    llm.reply_tool_calls(
        [
            ScriptedCall(name=tool("delete_note"), arguments={"name": "mixed-1"}),
            ScriptedCall(name=tool("read_note"), arguments={"name": "mixed-1"}),
        ]
    )
    llm.reply_text(["Both."])
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "delete and read"})
        request = until(ws, "approval_request")[-1]
        assert request["tool"] == "delete_note"
        deadline = time.monotonic() + 10
        while "mixed-1" not in server_calls.of("read_note") and time.monotonic() < deadline:
            time.sleep(0.02)
        # The read-only call ran while the other waited.
        assert "mixed-1" in server_calls.of("read_note")
        assert "mixed-1" not in server_calls.of("delete_note")
        ws.send_json(
            {"type": "approval", "tool_call_id": request["tool_call"]["id"], "decision": "allow"}
        )
        frames = until(ws, "turn_end")
    results = [f["tool_result"] for f in of_type(frames, "tool_result")]
    assert [r["name"] for r in results] == [tool("delete_note"), tool("read_note")]  # call order
    assert [text(r) for r in results] == ["deleted mixed-1", "note mixed-1: empty"]


def test_an_answer_to_nothing_pending_is_not_pending(
    app: TestClient, alice: Headers, bob: Headers, approval_url: str, llm: ScriptedLLM
) -> None:
    notes_config(app, alice, approval_url, tool_approval="writes")
    _delete_then_answer(llm, "foreign-1")
    conversation = new_conversation(app, alice)
    bobs = new_conversation(app, bob)
    with connect(app, conversation, alice) as ws, connect(app, bobs, bob) as other:
        receive(ws)
        receive(other)
        ws.send_json({"type": "approval", "tool_call_id": "call_nothing", "decision": "allow"})
        assert receive(ws)["code"] == "not_pending"
        ws.send_json({"type": "user_message", "content": "delete"})
        request = until(ws, "approval_request")[-1]
        call_id = request["tool_call"]["id"]
        # Bob, in his own conversation, cannot answer Alice's call.
        other.send_json({"type": "approval", "tool_call_id": call_id, "decision": "allow"})
        assert receive(other)["code"] == "not_pending"
        ws.send_json({"type": "approval", "tool_call_id": call_id, "decision": "maybe"})
        assert receive(ws)["code"] == "invalid_frame"
        ws.send_json({"type": "approval", "tool_call_id": call_id, "decision": "deny"})
        frames = until(ws, "turn_end")
    assert of_type(frames, "approval_result")[0]["decision"] == "deny"


def test_always_asks_even_for_read_only_tools_and_never_asks_for_none(
    app: TestClient, alice: Headers, approval_url: str, llm: ScriptedLLM
) -> None:
    config = notes_config(app, alice, approval_url, tool_approval="always")
    llm.reply_tool_calls([ScriptedCall(name=tool("read_note"), arguments={"name": "a"})])
    llm.reply_text(["Read."])
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "read"})
        request = until(ws, "approval_request")[-1]
        assert request["annotations"] == {"readOnlyHint": True}
        ws.send_json(
            {"type": "approval", "tool_call_id": request["tool_call"]["id"], "decision": "allow"}
        )
        until(ws, "turn_end")
        app.patch(f"/v1/mcp-configs/{config['id']}", json={"tool_approval": "never"}, headers=alice)
        _delete_then_answer(llm, "never-1")
        ws.send_json({"type": "user_message", "content": "delete"})
        frames = until(ws, "turn_end")
    assert not of_type(frames, "approval_request")
    assert text(of_type(frames, "tool_result")[0]["tool_result"]) == "deleted never-1"
