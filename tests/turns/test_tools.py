from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from faceplate.agents.echo import LABEL, EchoModel
from faceplate.agents.openai import OpenAIModel
from faceplate.db import Database
from faceplate.turns.tools import CANCELLED, ROUNDS_USED_UP
from tests.support.scripted_llm import ScriptedCall, ScriptedLLM
from tests.turns.helpers import assert_numbered, drain, text_of, types
from tests.turns.rig import Toolbox, history, outbox, owner, registry, until_type


@pytest.fixture
async def openai_model(llm: ScriptedLLM) -> AsyncIterator[OpenAIModel]:
    model = OpenAIModel(llm.base_url, "test-key", llm.model, timeout_s=10)
    yield model
    await model.aclose()


def _result_texts(frames: list[dict[str, object]]) -> list[tuple[bool, str]]:
    return [
        (f["tool_result"]["is_error"], f["tool_result"]["content"][0]["text"])  # type: ignore[index]
        for f in frames
        if f["type"] == "tool_result"
    ]


async def test_the_echo_model_calls_a_tool_and_answers_with_its_result(db: Database) -> None:
    user, conversation = await owner(db)
    tools = Toolbox()
    turns = registry(db, EchoModel(), tools)
    box = outbox()
    await turns.join(conversation, box)
    await turns.start(user, conversation, '/call add {"a": 2, "b": 3}')
    await turns.wait(conversation)
    frames = drain(box)
    assert types(frames) == [
        "ready",
        "message",
        "turn_start",
        "tool_call",
        "message",
        "tool_result",
        "message",
        *["text_delta"] * (len(frames) - 9),
        "message",
        "turn_end",
    ]
    assert_numbered(frames[1:])
    call = frames[3]["tool_call"]
    assert (call["name"], call["arguments"]) == ("add", {"a": 2, "b": 3})
    assert frames[3]["message_id"] == frames[4]["message"]["id"]
    assert _result_texts(frames) == [(False, "5")]
    assert text_of(frames) == f"{LABEL}tool add returned: 5"
    assert frames[-1]["status"] == "completed"
    stored = await history(db, user, conversation)
    assert [(m.role, m.finish_reason) for m in stored] == [
        ("user", None),
        ("assistant", "tool_calls"),
        ("tool", None),
        ("assistant", "stop"),
    ]
    assert stored[1].tool_calls is not None and stored[1].tool_calls[0].id == call["id"]
    assert stored[2].tool_results is not None
    assert stored[2].tool_results[0].tool_call_id == call["id"]
    assert [c.name for c in tools.calls] == ["add"]


async def test_a_tool_not_offered_gets_an_error_result(db: Database) -> None:
    user, conversation = await owner(db)
    tools = Toolbox()
    turns = registry(db, EchoModel(), tools)
    box = outbox()
    await turns.join(conversation, box)
    await turns.start(user, conversation, "/call nope {}")
    await turns.wait(conversation)
    frames = drain(box)
    assert _result_texts(frames) == [(True, "unknown tool nope")]
    assert frames[-1]["status"] == "completed"
    assert tools.calls == []


async def test_a_tool_past_its_timeout_gets_an_error_result(db: Database) -> None:
    user, conversation = await owner(db)
    turns = registry(db, EchoModel(), Toolbox(), tool_timeout_s=0.2)
    box = outbox()
    await turns.join(conversation, box)
    await turns.start(user, conversation, "/call hold")
    await turns.wait(conversation)
    assert _result_texts(drain(box)) == [(True, "the tool did not answer within 0.2 s")]


async def test_the_calls_of_one_step_run_together_and_answer_in_call_order(
    db: Database, llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply_tool_calls(
        [ScriptedCall(name="after_add"), ScriptedCall(name="add", arguments={"a": 1, "b": 1})],
        text=["Let me check."],
    )
    llm.reply_text(["Both done."])
    user, conversation = await owner(db)
    turns = registry(db, openai_model, Toolbox(), tool_timeout_s=5)
    box = outbox()
    await turns.join(conversation, box)
    await turns.start(user, conversation, "go")
    await turns.wait(conversation)
    frames = drain(box)
    assert _result_texts(frames) == [(False, "after add"), (False, "2")]
    results = [f["tool_result"]["tool_call_id"] for f in frames if f["type"] == "tool_result"]
    assert results == ["call_1", "call_2"]
    assert_numbered(frames[1:])
    # The next request carries the step, its calls and their results, in order.
    sent = llm.requests[1].body["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "tool"]
    assert sent[2]["content"] == "Let me check."
    assert [c["id"] for c in sent[2]["tool_calls"]] == ["call_1", "call_2"]
    assert [m["tool_call_id"] for m in sent[3:]] == ["call_1", "call_2"]


async def test_when_tool_rounds_are_used_up_the_model_answers_without_tools(
    db: Database, llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply_tool_calls([ScriptedCall(name="add", arguments={"a": 1, "b": 2})])
    llm.reply_tool_calls([ScriptedCall(name="add", arguments={"a": 3, "b": 4})])
    llm.reply_text(["Seven, finally."])
    user, conversation = await owner(db)
    turns = registry(db, openai_model, Toolbox(), max_tool_rounds=2)
    box = outbox()
    await turns.join(conversation, box)
    await turns.start(user, conversation, "add things")
    await turns.wait(conversation)
    frames = drain(box)
    assert [len(r.body.get("tools", [])) for r in llm.requests] == [3, 3, 0]
    assert text_of(frames) == "Seven, finally."
    assert frames[-1]["status"] == "completed"


async def test_a_model_asking_for_tools_when_none_are_offered_gets_error_results(
    db: Database,
) -> None:
    user, conversation = await owner(db)
    tools = Toolbox()
    turns = registry(db, EchoModel(), tools, max_tool_rounds=0)
    box = outbox()
    await turns.join(conversation, box)
    await turns.start(user, conversation, '/call add {"a": 1, "b": 1}')
    await turns.wait(conversation)
    frames = drain(box)
    assert _result_texts(frames) == [(True, ROUNDS_USED_UP)]
    assert frames[-1]["status"] == "completed"
    assert tools.calls == []
    stored = await history(db, user, conversation)
    assert [m.role for m in stored] == ["user", "assistant", "tool"]


async def test_cancel_during_a_tool_stores_a_cancelled_result(db: Database) -> None:
    user, conversation = await owner(db)
    tools = Toolbox()
    turns = registry(db, EchoModel(), tools)
    box = outbox()
    await turns.join(conversation, box)
    await turns.start(user, conversation, "/call hold")
    frames = await until_type(box, "message")  # the assistant step asking for the tool
    await tools.held.wait()
    assert await turns.cancel(conversation)
    frames += await until_type(box, "turn_end")
    assert types(frames)[-4:] == ["message", "tool_result", "message", "turn_end"]
    assert _result_texts(frames) == [(True, CANCELLED)]
    assert frames[-1]["status"] == "cancelled"
    stored = await history(db, user, conversation)
    assert [m.role for m in stored] == ["user", "assistant", "tool"]
    assert stored[2].tool_results is not None
    assert stored[2].tool_results[0].is_error


async def test_cancel_stops_calls_in_flight_and_keeps_the_finished_ones(
    db: Database, llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply_tool_calls(
        [ScriptedCall(name="add", arguments={"a": 1, "b": 1}), ScriptedCall(name="hold")]
    )
    user, conversation = await owner(db)
    tools = Toolbox()
    turns = registry(db, openai_model, tools)
    box = outbox()
    await turns.join(conversation, box)
    await turns.start(user, conversation, "go")
    frames = await until_type(box, "tool_result")  # add answered
    await tools.held.wait()
    await turns.cancel(conversation)
    frames += await until_type(box, "turn_end")
    assert _result_texts(frames) == [(False, "2"), (True, CANCELLED)]
    stored = await history(db, user, conversation)
    assert stored[-1].tool_results is not None
    assert [r.is_error for r in stored[-1].tool_results] == [False, True]
    assert len(llm.requests) == 1
