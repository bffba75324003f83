"""MCP tools in turns, end to end: configs over REST, turns over the WebSocket, real servers."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from faceplate.services import mcp_configs
from faceplate.turns.tools import CANCELLED
from tests.integration.helpers import (
    AppFactory,
    EventRecorder,
    Headers,
    create_config,
    http_config,
    messages,
    new_conversation,
    offered,
    one_turn,
    patch_config,
    results,
    run_turn,
    sse_config,
    stdio_config,
    text,
    upstream_error,
)
from tests.mcp_client.servers import free_port
from tests.support.scripted_llm import ScriptedCall, ScriptedLLM
from tests.turns.helpers import Frame, assert_numbered, connect, receive, text_of, types, until

NAME = "Calc Server"
SLUG = "calc-server"
ADD = f"{SLUG}__add"
TRANSPORTS = ["streamable_http", "sse", "stdio"]


@pytest.fixture(params=TRANSPORTS)
def any_config(
    request: pytest.FixtureRequest, mcp_http_url: str, mcp_sse_url: str, test_id: str
) -> dict[str, Any]:
    match request.param:
        case "streamable_http":
            return http_config(mcp_http_url, test_id)
        case "sse":
            return sse_config(mcp_sse_url, test_id)
    return stdio_config()


@pytest.fixture
def calc(app: TestClient, alice: Headers, mcp_http_url: str, test_id: str) -> dict[str, Any]:
    """A streamable HTTP config of alice's, its requests marked with this test's id."""
    return create_config(app, alice, NAME, http_config(mcp_http_url, test_id))


def _add_then_answer(llm: ScriptedLLM) -> None:
    llm.reply_tool_calls([ScriptedCall(name=ADD, arguments={"a": 2, "b": 3})], text=["Adding."])
    llm.reply_text(["It is ", "5."])


def _completed(frames: list[Frame]) -> bool:
    last = frames[-1]
    return bool(last["type"] == "turn_end" and last["status"] == "completed")


# --- one tool round trip over every transport -----------------------------------------------------


def test_a_tool_call_streams_its_result_then_the_answer(
    app: TestClient, alice: Headers, llm: ScriptedLLM, any_config: dict[str, Any]
) -> None:
    create_config(app, alice, NAME, any_config)
    _add_then_answer(llm)

    frames = one_turn(app, alice, "what is 2 + 3?")

    assert_numbered(frames)
    kinds = [k for k in types(frames) if k != "text_delta"]
    assert kinds == [
        "message",  # the user's
        "turn_start",
        "tool_call",
        "message",  # the assistant step asking for the tool
        "tool_result",
        "message",  # the tool message
        "message",  # the answer
        "turn_end",
    ]
    call = next(f for f in frames if f["type"] == "tool_call")["tool_call"]
    assert (call["name"], call["arguments"]) == (ADD, {"a": 2, "b": 3})
    (result,) = results(frames)
    assert (result["tool_call_id"], result["name"], result["is_error"]) == (call["id"], ADD, False)
    assert text(result) == "5"
    user, step, tool, answer = (f["message"] for f in frames if f["type"] == "message")
    roles = (user["role"], step["role"], tool["role"], answer["role"])
    assert roles == ("user", "assistant", "tool", "assistant")
    assert tool["tool_results"] == [result]
    assert answer["content"] == "It is 5."
    assert _completed(frames)


def test_the_next_model_request_carries_the_call_and_its_result(
    app: TestClient, alice: Headers, llm: ScriptedLLM, calc: dict[str, Any]
) -> None:
    _add_then_answer(llm)

    one_turn(app, alice, "what is 2 + 3?")

    assert len(llm.requests) == 2
    sent = llm.requests[1].body["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool"]
    (call,) = sent[2]["tool_calls"]
    assert call["function"]["name"] == ADD
    assert json.loads(call["function"]["arguments"]) == {"a": 2, "b": 3}
    assert (sent[3]["tool_call_id"], sent[3]["content"]) == (call["id"], "5")
    assert ADD in offered(llm.requests[1])


def test_stored_messages_hold_the_calls_and_results_in_order(
    app: TestClient, alice: Headers, llm: ScriptedLLM, calc: dict[str, Any]
) -> None:
    _add_then_answer(llm)
    conversation = new_conversation(app, alice)

    run_turn(app, alice, conversation, "what is 2 + 3?")

    stored = messages(app, alice, conversation)
    assert [(m["role"], m["finish_reason"]) for m in stored] == [
        ("user", None),
        ("assistant", "tool_calls"),
        ("tool", None),
        ("assistant", "stop"),
    ]
    (call,) = stored[1]["tool_calls"]
    assert call == {"id": call["id"], "name": ADD, "arguments": {"a": 2, "b": 3}}
    (result,) = stored[2]["tool_results"]
    assert result["tool_call_id"] == call["id"]
    assert result["name"] == ADD
    assert (result["is_error"], result["content"]) == (False, [{"type": "text", "text": "5"}])
    assert isinstance(result["duration_ms"], int)
    assert stored[1]["tool_results"] is None and stored[2]["tool_calls"] is None
    assert stored[3]["content"] == "It is 5."


# --- the calls of one step run together -----------------------------------------------------------


def test_two_calls_of_one_step_run_concurrently(
    app: TestClient, alice: Headers, llm: ScriptedLLM, calc: dict[str, Any], test_id: str
) -> None:
    sleep = f"{SLUG}__sleep"
    llm.reply_tool_calls(
        [
            ScriptedCall(name=sleep, arguments={"seconds": 1, "label": f"{test_id}-a"}),
            ScriptedCall(name=sleep, arguments={"seconds": 1, "label": f"{test_id}-b"}),
        ]
    )
    llm.reply_text(["Rested."])

    with connect(app, new_conversation(app, alice), alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "sleep twice"})
        until(ws, "tool_call")
        until(ws, "message")  # the step asking for both calls has ended: the calls run
        started = time.monotonic()
        frames = until(ws, "message")  # the tool message, once both have answered
        tool_phase_s = time.monotonic() - started
        frames += until(ws, "turn_end")

    found = results(frames)
    assert [(r["is_error"], text(r)) for r in found] == [(False, "slept 1 s")] * 2
    assert all(1000 <= r["duration_ms"] < 1800 for r in found)
    assert tool_phase_s < 1.8
    assert _completed(frames)


# --- failures are results, and the turn goes on ---------------------------------------------------


def test_a_raising_tool_gives_an_error_result_and_the_turn_answers(
    app: TestClient, alice: Headers, llm: ScriptedLLM, calc: dict[str, Any]
) -> None:
    llm.reply_tool_calls([ScriptedCall(name=f"{SLUG}__fail")])
    llm.reply_text(["That failed."])

    frames = one_turn(app, alice)

    (result,) = results(frames)
    assert result["is_error"] is True
    assert text(result) == "Error executing tool fail: boom"
    assert (
        llm.requests[1].body["messages"][-1]["content"] == "error: Error executing tool fail: boom"
    )
    assert text_of(frames) == "That failed."
    assert _completed(frames)


def test_a_tool_past_its_timeout_gives_an_error_result_and_the_turn_answers(
    make_app: AppFactory,
    alice: Headers,
    llm: ScriptedLLM,
    mcp_http_url: str,
    mcp_recorder: EventRecorder,
    test_id: str,
) -> None:
    app = make_app(tool_timeout_s=0.5)
    create_config(app, alice, NAME, http_config(mcp_http_url, test_id))
    llm.reply_tool_calls(
        [ScriptedCall(name=f"{SLUG}__sleep", arguments={"seconds": 3, "label": test_id})]
    )
    llm.reply_text(["Too slow."])

    started = time.monotonic()
    frames = one_turn(app, alice)

    (result,) = results(frames)
    assert result["is_error"] is True
    assert "0.5 s" in text(result), text(result)
    assert time.monotonic() - started < 2.5
    assert text_of(frames) == "Too slow."
    assert _completed(frames)
    assert mcp_recorder.wait_for("cancelled", test_id)  # the server was told to stop


def test_a_tool_name_the_model_invents_gives_an_error_result_and_the_turn_answers(
    app: TestClient, alice: Headers, llm: ScriptedLLM, calc: dict[str, Any]
) -> None:
    llm.reply_tool_calls([ScriptedCall(name=f"{SLUG}__divide", arguments={"a": 1, "b": 0})])
    llm.reply_text(["No such tool."])

    frames = one_turn(app, alice)

    (result,) = results(frames)
    assert (result["name"], result["is_error"]) == (f"{SLUG}__divide", True)
    assert text(result) == f"unknown tool {SLUG}__divide"
    assert text_of(frames) == "No such tool."
    assert _completed(frames)


def test_an_unreachable_server_gives_an_error_result_and_the_turn_answers(
    app: TestClient, alice: Headers, llm: ScriptedLLM, calc: dict[str, Any], test_id: str
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/mcp"
    create_config(app, alice, "Down", http_config(closed, test_id))
    llm.reply_tool_calls([ScriptedCall(name="down__add", arguments={"a": 1, "b": 1})])
    llm.reply_text(["It is down."])

    started = time.monotonic()
    frames = one_turn(app, alice)

    (result,) = results(frames)
    assert (result["name"], result["is_error"]) == ("down__add", True)
    assert text(result)
    assert text_of(frames) == "It is down."
    assert _completed(frames)
    assert time.monotonic() - started < 5
    # The reachable server's tools are still offered; the unreachable one's are left out.
    tools = offered(llm.requests[0])
    assert ADD in tools
    assert not [t for t in tools if t.startswith("down__")]


# --- only enabled configs are offered -------------------------------------------------------------


def test_a_disabled_config_is_not_offered_until_enabled_again(
    app: TestClient, alice: Headers, llm: ScriptedLLM, calc: dict[str, Any]
) -> None:
    llm.reply_text(["Without tools."])
    llm.reply_text(["With tools."])

    patch_config(app, alice, calc["id"], {"enabled": False})
    one_turn(app, alice)
    patch_config(app, alice, calc["id"], {"enabled": True})
    one_turn(app, alice)

    assert offered(llm.requests[0]) == []
    assert "tools" not in llm.requests[0].body
    assert ADD in offered(llm.requests[1])


# --- whose tools, under which names ---------------------------------------------------------------


def test_another_users_config_is_not_offered(
    app: TestClient, alice: Headers, bob: Headers, llm: ScriptedLLM, calc: dict[str, Any]
) -> None:
    llm.reply_text(["Nothing to use."])

    one_turn(app, bob)

    assert "tools" not in llm.requests[0].body


def test_configs_whose_names_slug_alike_each_get_their_own_calls(
    app: TestClient,
    alice: Headers,
    llm: ScriptedLLM,
    calc: dict[str, Any],
    mcp_http_url: str,
    mcp_recorder: EventRecorder,
    test_id: str,
) -> None:
    create_config(app, alice, "Calc-Server", http_config(mcp_http_url, f"{test_id}-2"))
    llm.reply_tool_calls(
        [
            ScriptedCall(name=ADD, arguments={"a": 1, "b": 1}),
            ScriptedCall(name=f"{SLUG}_2__add", arguments={"a": 2, "b": 2}),
        ]
    )
    llm.reply_text(["Both."])

    frames = one_turn(app, alice)

    assert {ADD, f"{SLUG}_2__add"} <= set(offered(llm.requests[0]))
    assert [(r["name"], r["is_error"], text(r)) for r in results(frames)] == [
        (ADD, False, "2"),
        (f"{SLUG}_2__add", False, "4"),
    ]
    assert mcp_recorder.methods(test_id).count("tools/call") == 1
    assert mcp_recorder.methods(f"{test_id}-2").count("tools/call") == 1


# --- header values reach the server and nothing else ----------------------------------------------


def test_header_values_reach_the_server_and_never_a_response_or_frame(
    app: TestClient,
    alice: Headers,
    llm: ScriptedLLM,
    mcp_http_url: str,
    mcp_recorder: EventRecorder,
    test_id: str,
) -> None:
    secret = f"Bearer s3cret-{test_id}"
    config = http_config(mcp_http_url, test_id, Authorization=secret)
    _add_then_answer(llm)
    seen: list[str] = []

    created = app.post("/v1/mcp-configs", json={"name": NAME, "config": config}, headers=alice)
    seen.append(created.text)
    config_id = created.json()["id"]
    conversation = new_conversation(app, alice)
    frames = run_turn(app, alice, conversation, "what is 2 + 3?")
    seen.extend(json.dumps(frame) for frame in frames)
    for path in (
        f"/v1/mcp-configs/{config_id}",
        "/v1/mcp-configs",
        f"/v1/mcp-configs/{config_id}/tools",
        f"/v1/conversations/{conversation}/messages",
    ):
        response = app.get(path, headers=alice)
        assert response.status_code == 200, response.text
        seen.append(response.text)
    patched = app.patch(f"/v1/mcp-configs/{config_id}", json={"name": "Renamed"}, headers=alice)
    seen.append(patched.text)

    received = [h.get("authorization") for h in mcp_recorder.headers(test_id)]
    assert received and set(received) == {secret}
    assert _completed(frames)
    assert all(secret not in item and f"s3cret-{test_id}" not in item for item in seen)


# --- the live tools of a config -------------------------------------------------------------------


def test_live_tools_are_listed_under_the_servers_own_names(
    app: TestClient, alice: Headers, calc: dict[str, Any]
) -> None:
    response = app.get(f"/v1/mcp-configs/{calc['id']}/tools", headers=alice)

    assert response.status_code == 200, response.text
    tools = {tool["name"]: tool for tool in response.json()["tools"]}
    assert {"add", "echo", "sleep", "fail", "image"} <= set(tools)
    assert tools["add"]["description"] == "Add two integers."
    schema = tools["add"]["input_schema"]
    assert schema["type"] == "object"
    assert set(schema["properties"]) == {"a", "b"}
    assert set(schema["required"]) == {"a", "b"}


def test_live_tools_of_a_closed_port_are_a_502(
    app: TestClient, alice: Headers, test_id: str
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/mcp"
    config = create_config(app, alice, "Down", http_config(closed, test_id))

    response = app.get(f"/v1/mcp-configs/{config['id']}/tools", headers=alice)

    upstream_error(response)


def test_live_tools_of_a_server_that_never_answers_are_a_502_in_time(
    app: TestClient,
    alice: Headers,
    silent_url: str,
    test_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert mcp_configs.LIST_TIMEOUT_S == 10.0  # the contract's bound, shortened here for speed
    monkeypatch.setattr(mcp_configs, "LIST_TIMEOUT_S", 1.0)
    config = create_config(app, alice, "Silent", http_config(silent_url, test_id))

    started = time.monotonic()
    response = app.get(f"/v1/mcp-configs/{config['id']}/tools", headers=alice)

    upstream_error(response)
    assert 1.0 <= time.monotonic() - started < 3.0


# --- private addresses refused at connect time ----------------------------------------------------


@pytest.fixture
def strict_app(make_app: AppFactory, calc: dict[str, Any], app: TestClient) -> TestClient:
    """The app again, refusing private addresses, after `calc` (on 127.0.0.1) was stored."""
    return make_app(mcp_allow_private=False)


def test_a_stored_private_address_is_refused_at_connect_in_a_turn(
    strict_app: TestClient,
    alice: Headers,
    llm: ScriptedLLM,
    mcp_recorder: EventRecorder,
    test_id: str,
) -> None:
    _add_then_answer(llm)

    frames = one_turn(strict_app, alice)

    (result,) = results(frames)
    assert (result["name"], result["is_error"]) == (ADD, True)
    assert offered(llm.requests[0]) == []
    assert _completed(frames)
    assert mcp_recorder.methods(test_id) == []


def test_a_stored_private_address_is_refused_at_connect_when_listing(
    strict_app: TestClient,
    alice: Headers,
    calc: dict[str, Any],
    mcp_recorder: EventRecorder,
    test_id: str,
) -> None:
    response = strict_app.get(f"/v1/mcp-configs/{calc['id']}/tools", headers=alice)

    message = upstream_error(response)
    assert "loopback" in message
    assert mcp_recorder.methods(test_id) == []


# --- one session across turns, a new one once the config changes ----------------------------------


def _openings(recorder: EventRecorder, test_id: str) -> int:
    return sum(m in ("initialize", "server/discover") for m in recorder.methods(test_id))


def test_turns_share_one_session_until_the_config_is_edited(
    app: TestClient,
    alice: Headers,
    llm: ScriptedLLM,
    calc: dict[str, Any],
    mcp_http_url: str,
    mcp_recorder: EventRecorder,
    test_id: str,
) -> None:
    for _ in range(3):
        _add_then_answer(llm)
        assert _completed(one_turn(app, alice))
    opened = _openings(mcp_recorder, test_id)
    patch_config(
        app, alice, calc["id"], {"config": http_config(mcp_http_url, test_id, **{"X-Extra": "1"})}
    )
    _add_then_answer(llm)
    assert _completed(one_turn(app, alice))

    assert mcp_recorder.methods(test_id).count("tools/call") == 4
    assert opened == 1
    assert _openings(mcp_recorder, test_id) == 2


# --- cancel while a tool runs ---------------------------------------------------------------------


def _cancel_during_sleep(
    app: TestClient, alice: Headers, llm: ScriptedLLM, recorder: EventRecorder, test_id: str
) -> tuple[str, list[Frame], float]:
    """A turn cancelled while its `sleep(5)` runs: the conversation, its frames, and how long
    turn_end took to come after the cancel."""
    llm.reply_tool_calls(
        [ScriptedCall(name=f"{SLUG}__sleep", arguments={"seconds": 5, "label": test_id})]
    )
    conversation = new_conversation(app, alice)
    with connect(app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "sleep"})
        frames = until(ws, "tool_call")
        assert recorder.wait_for("sleeping", test_id)
        ws.send_json({"type": "cancel"})
        cancelled_at = time.monotonic()
        frames += until(ws, "turn_end")
        return conversation, frames, time.monotonic() - cancelled_at


def test_cancel_while_a_tool_runs_ends_the_turn_with_a_cancelled_result(
    app: TestClient,
    alice: Headers,
    llm: ScriptedLLM,
    calc: dict[str, Any],
    mcp_recorder: EventRecorder,
    test_id: str,
) -> None:
    conversation, frames, took_s = _cancel_during_sleep(app, alice, llm, mcp_recorder, test_id)

    assert took_s < 2
    assert frames[-1]["status"] == "cancelled"
    (result,) = results(frames)
    assert (result["is_error"], text(result)) == (True, CANCELLED)
    stored = messages(app, alice, conversation)
    assert [m["role"] for m in stored] == ["user", "assistant", "tool"]
    assert stored[2]["tool_results"] == [result]
    assert mcp_recorder.wait_for("cancelled", test_id)


def test_after_a_cancelled_tool_the_model_gets_a_paired_history(
    app: TestClient,
    alice: Headers,
    llm: ScriptedLLM,
    calc: dict[str, Any],
    mcp_recorder: EventRecorder,
    test_id: str,
) -> None:
    conversation, _, _ = _cancel_during_sleep(app, alice, llm, mcp_recorder, test_id)
    llm.reply_text(["Fine."])

    frames = run_turn(app, alice, conversation, "never mind")

    assert _completed(frames)
    sent = llm.requests[1].body["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "user"]
    (call,) = sent[2]["tool_calls"]
    assert (sent[3]["tool_call_id"], sent[3]["content"]) == (call["id"], f"error: {CANCELLED}")


# --- tool rounds used up --------------------------------------------------------------------------


def test_once_tool_rounds_are_used_up_the_model_is_asked_without_tools(
    make_app: AppFactory, alice: Headers, llm: ScriptedLLM, mcp_http_url: str, test_id: str
) -> None:
    app = make_app(max_tool_rounds=1)
    create_config(app, alice, NAME, http_config(mcp_http_url, test_id))
    llm.reply_tool_calls([ScriptedCall(name=ADD, arguments={"a": 1, "b": 2})])
    llm.reply_text(["Three, without more tools."])

    frames = one_turn(app, alice)

    assert ADD in offered(llm.requests[0])
    assert "tools" not in llm.requests[1].body
    assert len(llm.requests) == 2
    assert [(r["is_error"], text(r)) for r in results(frames)] == [(False, "3")]
    assert text_of(frames) == "Three, without more tools."
    assert _completed(frames)
