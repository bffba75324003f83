"""OpenAIModel against the scripted Chat Completions server, over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from faceplate.agents.base import (
    INVALID_ARGUMENTS_KEY,
    Finish,
    LLMError,
    ModelEvent,
    TextDelta,
    ToolCallRequest,
    ToolSpec,
    Usage,
)
from faceplate.agents.openai import OpenAIModel
from faceplate.structs import ImageBlock, ResourceBlock, ToolCall
from tests.agents.helpers import collect, message, result, text_of
from tests.support.scripted_llm import Reply, ScriptedCall, ScriptedLLM

HELLO = [message("user", "hello")]
READ = ToolSpec(
    name="files__read",
    description="Read a file.",
    input_schema={"type": "object", "properties": {"path": {"type": "string"}}},
)


def calls_of(events: list[ModelEvent]) -> list[ToolCall]:
    return [event.tool_call for event in events if isinstance(event, ToolCallRequest)]


def body_of(llm: ScriptedLLM, index: int = -1) -> dict[str, Any]:
    body: dict[str, Any] = llm.requests[index].body
    return body


async def test_text_arrives_as_one_delta_per_chunk(
    llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply_text(["Hel", "lo", ", wor", "ld!"])

    events = await collect(openai_model.stream(system="", history=HELLO, tools=[]))

    assert events == [
        TextDelta(text="Hel"),
        TextDelta(text="lo"),
        TextDelta(text=", wor"),
        TextDelta(text="ld!"),
        Finish(reason="stop"),
    ]


async def test_usage_is_passed_through(llm: ScriptedLLM, openai_model: OpenAIModel) -> None:
    llm.reply_text(["hi"], usage=(11, 7))

    events = await collect(openai_model.stream(system="", history=HELLO, tools=[]))

    assert events[-1] == Finish(reason="stop", usage=Usage(input_tokens=11, output_tokens=7))


async def test_request_streams_with_usage_and_bearer_key(
    llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply_text(["hi"])

    await collect(openai_model.stream(system="", history=HELLO, tools=[]))

    request = llm.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.body["model"] == "gpt-test"
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}


async def test_no_authorization_header_without_a_key(llm: ScriptedLLM) -> None:
    llm.reply_text(["hi"])
    model = OpenAIModel(llm.base_url, None, "local-model")
    try:
        await collect(model.stream(system="", history=HELLO, tools=[]))
    finally:
        await model.aclose()

    assert "authorization" not in llm.requests[0].headers


async def test_two_tool_calls_are_assembled_from_fragments(
    llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply_tool_calls(
        [
            ScriptedCall(id="call_a", name="files__read", arguments={"path": "a.txt"}, pieces=5),
            ScriptedCall(id="call_b", name="files__read", arguments={"path": "b.txt"}, pieces=4),
        ],
        text=["Reading ", "both."],
    )

    events = await collect(openai_model.stream(system="", history=HELLO, tools=[READ]))

    assert text_of(events) == "Reading both."
    assert calls_of(events) == [
        ToolCall(id="call_a", name="files__read", arguments={"path": "a.txt"}),
        ToolCall(id="call_b", name="files__read", arguments={"path": "b.txt"}),
    ]
    assert events[-1] == Finish(reason="tool_calls")


async def test_interleaved_fragments_are_told_apart_by_index(
    llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply_tool_calls(
        [
            ScriptedCall(name="files__read", arguments={"path": "first"}),
            ScriptedCall(name="files__list", arguments={"dir": "second"}),
        ],
        interleave=True,
    )

    events = await collect(openai_model.stream(system="", history=HELLO, tools=[READ]))

    assert calls_of(events) == [
        ToolCall(id="call_1", name="files__read", arguments={"path": "first"}),
        ToolCall(id="call_2", name="files__list", arguments={"dir": "second"}),
    ]


async def test_invalid_json_arguments_are_kept_raw(
    llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply_tool_calls([ScriptedCall(name="files__read", arguments='{"path": "a.t')])

    events = await collect(openai_model.stream(system="", history=HELLO, tools=[READ]))

    assert calls_of(events)[0].arguments == {INVALID_ARGUMENTS_KEY: '{"path": "a.t'}


async def test_blank_arguments_are_an_empty_object(
    llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply_tool_calls([ScriptedCall(name="clock__now", arguments="")])

    events = await collect(openai_model.stream(system="", history=HELLO, tools=[READ]))

    assert calls_of(events)[0].arguments == {}


async def test_length_finish_drops_a_cut_off_tool_call(
    llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply(
        Reply(tool_calls=[ScriptedCall(name="files__read", arguments='{"pa')], finish="length")
    )

    events = await collect(openai_model.stream(system="", history=HELLO, tools=[READ]))

    assert events == [Finish(reason="length")]


async def test_unknown_finish_reason_ends_as_stop(
    llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply_text(["filtered"], finish="content_filter")

    events = await collect(openai_model.stream(system="", history=HELLO, tools=[]))

    assert events[-1] == Finish(reason="stop")


async def test_tools_are_offered_as_functions(llm: ScriptedLLM, openai_model: OpenAIModel) -> None:
    llm.reply_text(["ok"])

    await collect(openai_model.stream(system="", history=HELLO, tools=[READ]))

    assert body_of(llm)["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "files__read",
                "description": "Read a file.",
                "parameters": READ.input_schema,
            },
        }
    ]


async def test_no_tools_key_when_none_are_offered(
    llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply_text(["ok"])

    await collect(openai_model.stream(system="", history=HELLO, tools=[]))

    assert "tools" not in body_of(llm)


async def test_history_is_sent_in_chat_completions_form(
    llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    history = [
        message("user", "read a and b"),
        message(
            "assistant",
            "Reading.",
            tool_calls=[
                ToolCall(id="call_a", name="files__read", arguments={"path": "a"}),
                ToolCall(id="call_b", name="files__read", arguments={"path": "b"}),
            ],
        ),
        message(
            "tool",
            tool_results=[
                result(
                    "call_a", "files__read", "alpha", ImageBlock(data="AAAA", mime_type="image/png")
                ),
                result("call_b", "files__read", "no such file", is_error=True),
            ],
        ),
        message("assistant", ""),  # a step cancelled before any text: not sent
        message("system", "The user is on a phone."),
        message("user", "thanks"),
    ]
    llm.reply_text(["ok"])

    await collect(openai_model.stream(system="You are helpful.", history=history, tools=[]))

    assert body_of(llm)["messages"] == [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "read a and b"},
        {
            "role": "assistant",
            "content": "Reading.",
            "tool_calls": [
                {
                    "id": "call_a",
                    "function": {"name": "files__read", "arguments": '{"path":"a"}'},
                    "type": "function",
                },
                {
                    "id": "call_b",
                    "function": {"name": "files__read", "arguments": '{"path":"b"}'},
                    "type": "function",
                },
            ],
        },
        {"role": "tool", "content": "alpha\n[image image/png]", "tool_call_id": "call_a"},
        {"role": "tool", "content": "error: no such file", "tool_call_id": "call_b"},
        {"role": "system", "content": "The user is on a phone."},
        {"role": "user", "content": "thanks"},
    ]


async def test_assistant_with_only_tool_calls_has_no_content(
    llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    call = ToolCall(id="call_a", name="files__read", arguments={})
    history = [
        message("user", "read"),
        message("assistant", "", tool_calls=[call]),
        message(
            "tool", tool_results=[result("call_a", "files__read", ResourceBlock(uri="file:///a"))]
        ),
    ]
    llm.reply_text(["ok"])

    await collect(openai_model.stream(system="", history=history, tools=[]))

    sent = body_of(llm)["messages"]
    assert "content" not in sent[1]
    assert sent[2] == {"role": "tool", "content": "[resource file:///a]", "tool_call_id": "call_a"}


async def test_http_error_raises_with_status_and_message(
    llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply_error(500, "the model is on fire")

    with pytest.raises(LLMError, match=r"HTTP 500 .*the model is on fire"):
        await collect(openai_model.stream(system="", history=HELLO, tools=[]))


async def test_unscripted_request_gets_http_500(
    llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    with pytest.raises(LLMError, match="no reply scripted"):
        await collect(openai_model.stream(system="", history=HELLO, tools=[]))


async def test_dropped_stream_raises_after_the_deltas_that_arrived(
    llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply_drop(["one ", "two ", "three"], after=2)
    events: list[ModelEvent] = []

    with pytest.raises(LLMError):
        await collect(openai_model.stream(system="", history=HELLO, tools=[]), into=events)

    assert events == [TextDelta(text="one "), TextDelta(text="two ")]


async def test_stream_ending_without_finish_raises(
    llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply(Reply(text=["one ", "two"], end_after=1))

    with pytest.raises(LLMError, match="ended before the model finished"):
        await collect(openai_model.stream(system="", history=HELLO, tools=[]))


async def test_error_inside_the_stream_raises(llm: ScriptedLLM, openai_model: OpenAIModel) -> None:
    llm.reply(Reply(text=["partial"], stream_error="upstream overloaded"))

    with pytest.raises(LLMError, match="upstream overloaded"):
        await collect(openai_model.stream(system="", history=HELLO, tools=[]))


async def test_slow_stream_times_out(llm: ScriptedLLM) -> None:
    llm.reply_text(["too ", "slow"], delay_s=2)
    model = OpenAIModel(llm.base_url, "test-key", "gpt-test", timeout_s=0.1)
    try:
        with pytest.raises(LLMError, match="timed out"):
            await collect(model.stream(system="", history=HELLO, tools=[]))
    finally:
        await model.aclose()


async def test_refused_connection_raises(refused_url: str) -> None:
    model = OpenAIModel(refused_url, "test-key", "gpt-test")
    try:
        with pytest.raises(LLMError, match="ConnectError"):
            await collect(model.stream(system="", history=HELLO, tools=[]))
    finally:
        await model.aclose()
