"""Answers that reach a turn another way than its own socket: from an app instance that does
not run the turn (on the same database), and by a policy another answer just remembered."""

from __future__ import annotations

from uuid import UUID

from starlette.testclient import TestClient

from tests.approval.helpers import notes_config, of_type, tool
from tests.approval.server import Calls
from tests.integration.helpers import AppFactory, Headers, new_conversation, text
from tests.support.scripted_llm import ScriptedCall, ScriptedLLM
from tests.turns.helpers import connect, receive, state_of, until


def test_an_answer_on_another_instance_reaches_the_waiting_turn(
    make_app: AppFactory, alice: Headers, approval_url: str, llm: ScriptedLLM, server_calls: Calls
) -> None:
    runs_it = make_app()
    other = make_app()  # a second app on the same database: it does not run the turn
    decisions = state_of(runs_it).turns.decisions
    woken: list[bool] = []
    resolve = decisions.resolve

    def spied(request_id: UUID) -> bool:
        woken.append(resolve(request_id))
        return woken[-1]

    decisions.resolve = spied  # type: ignore[method-assign]
    notes_config(runs_it, alice, approval_url, tool_approval="writes")
    llm.reply_tool_calls([ScriptedCall(name=tool("delete_note"), arguments={"name": "across-1"})])
    llm.reply_text(["Done."])
    conversation = new_conversation(runs_it, alice)
    with connect(runs_it, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "delete"})
        request = until(ws, "approval_request")[-1]
        with connect(other, conversation, alice) as elsewhere:
            assert receive(elsewhere)["type"] == "ready"
            answer = {"tool_call_id": request["tool_call"]["id"], "decision": "allow"}
            elsewhere.send_json({"type": "approval", **answer})
            elsewhere.send_json({"type": "ping"})
            assert receive(elsewhere)["type"] == "pong"  # stored, with no error before it
            frames = until(ws, "turn_end")
    decided = of_type(frames, "approval_result")[0]
    assert (decided["decision"], decided["by"]) == ("allow", "user")
    assert server_calls.of("delete_note").count("across-1") == 1
    assert woken == [True]  # the other instance's message woke it, not only its poll


def test_remembering_one_answer_decides_the_tool_s_other_pending_calls_by_policy(
    app: TestClient, alice: Headers, approval_url: str, llm: ScriptedLLM, server_calls: Calls
) -> None:
    notes_config(app, alice, approval_url, tool_approval="writes")
    llm.reply_tool_calls(
        [
            ScriptedCall(name=tool("write_note"), arguments={"name": "policy-1"}),
            ScriptedCall(name=tool("write_note"), arguments={"name": "policy-2"}),
        ]
    )
    llm.reply_text(["Written."])
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "write two"})
        frames = until(ws, "approval_request")
        frames += until(ws, "approval_request")
        first = of_type(frames, "approval_request")[0]
        answer = {"tool_call_id": first["tool_call"]["id"], "decision": "allow", "remember": True}
        ws.send_json({"type": "approval", **answer})
        frames += until(ws, "turn_end")
    by = {d["tool_call_id"]: d["by"] for d in of_type(frames, "approval_result")}
    second = of_type(frames, "approval_request")[1]
    assert by == {first["tool_call"]["id"]: "user", second["tool_call"]["id"]: "policy"}
    results = [f["tool_result"] for f in of_type(frames, "tool_result")]
    assert [text(r) for r in results] == ["wrote policy-1", "wrote policy-2"]
