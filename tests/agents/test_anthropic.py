"""AnthropicModel against the scripted Messages server, over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from faceplate.agents.anthropic import API_VERSION, AnthropicModel
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
from faceplate.structs import ImageBlock, ToolCall
from tests.agents.helpers import collect, message, result, text_of
from tests.support.scripted_llm import Reply, ScriptedCall, ScriptedLLM

HELLO = [message("user", "hello")]
READ = ToolSpec(
    name="files__read",
    description="Read a file.",
    input_schema={"type": "object", "properties": {"path": {"type": "string"}}},
)
NO_USAGE = Usage(input_tokens=0, output_tokens=0)


def calls_of(events: list[ModelEvent]) -> list[ToolCall]:
    return [event.tool_call for event in events if isinstance(event, ToolCallRequest)]


def body_of(llm: ScriptedLLM, index: int = -1) -> dict[str, Any]:
    body: dict[str, Any] = llm.requests[index].body
    return body


async def test_text_arrives_as_one_delta_per_chunk(
    llm: ScriptedLLM, anthropic_model: AnthropicModel
) -> None:
    llm.reply_text(["Hel", "lo", ", wor", "ld!"])

    events = await collect(anthropic_model.stream(system="", history=HELLO, tools=[]))

    assert events == [
        TextDelta(text="Hel"),
        TextDelta(text="lo"),
        TextDelta(text=", wor"),
        TextDelta(text="ld!"),
        Finish(reason="stop", usage=NO_USAGE),
    ]


async def test_usage_is_passed_through(llm: ScriptedLLM, anthropic_model: AnthropicModel) -> None:
    llm.reply_text(["hi"], usage=(120, 9))

    events = await collect(anthropic_model.stream(system="", history=HELLO, tools=[]))

    assert events[-1] == Finish(reason="stop", usage=Usage(input_tokens=120, output_tokens=9))


async def test_request_carries_key_version_and_max_tokens(
    llm: ScriptedLLM, anthropic_model: AnthropicModel
) -> None:
    llm.reply_text(["hi"])

    await collect(anthropic_model.stream(system="", history=HELLO, tools=[]))

    request = llm.requests[0]
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == "test-key"
    assert request.headers["anthropic-version"] == API_VERSION
    assert request.body["model"] == "claude-test"
    assert request.body["max_tokens"] == 1000
    assert request.body["stream"] is True


async def test_two_tool_calls_are_assembled_from_fragments(
    llm: ScriptedLLM, anthropic_model: AnthropicModel
) -> None:
    llm.reply_tool_calls(
        [
            ScriptedCall(id="toolu_a", name="files__read", arguments={"path": "a.txt"}, pieces=5),
            ScriptedCall(id="toolu_b", name="files__read", arguments={"path": "b.txt"}, pieces=4),
        ],
        text=["Reading ", "both."],
    )

    events = await collect(anthropic_model.stream(system="", history=HELLO, tools=[READ]))

    assert text_of(events) == "Reading both."
    assert calls_of(events) == [
        ToolCall(id="toolu_a", name="files__read", arguments={"path": "a.txt"}),
        ToolCall(id="toolu_b", name="files__read", arguments={"path": "b.txt"}),
    ]
    assert events[-1] == Finish(reason="tool_calls", usage=NO_USAGE)


async def test_invalid_json_arguments_are_kept_raw(
    llm: ScriptedLLM, anthropic_model: AnthropicModel
) -> None:
    llm.reply_tool_calls([ScriptedCall(name="files__read", arguments='{"path": "a.t')])

    events = await collect(anthropic_model.stream(system="", history=HELLO, tools=[READ]))

    assert calls_of(events)[0].arguments == {INVALID_ARGUMENTS_KEY: '{"path": "a.t'}


async def test_tool_call_without_input_deltas_has_empty_arguments(
    llm: ScriptedLLM, anthropic_model: AnthropicModel
) -> None:
    llm.reply_tool_calls([ScriptedCall(name="clock__now", arguments="")])

    events = await collect(anthropic_model.stream(system="", history=HELLO, tools=[READ]))

    assert calls_of(events)[0].arguments == {}


async def test_stop_sequence_ends_as_stop(
    llm: ScriptedLLM, anthropic_model: AnthropicModel
) -> None:
    llm.reply_text(["halt"], finish="stop_sequence")

    events = await collect(anthropic_model.stream(system="", history=HELLO, tools=[]))

    assert events[-1] == Finish(reason="stop", usage=NO_USAGE)


async def test_max_tokens_ends_as_length_and_drops_a_cut_off_call(
    llm: ScriptedLLM, anthropic_model: AnthropicModel
) -> None:
    cut_off = ScriptedCall(name="files__read", arguments='{"pa')
    llm.reply(Reply(text=["so"], tool_calls=[cut_off], finish="length"))

    events = await collect(anthropic_model.stream(system="", history=HELLO, tools=[READ]))

    assert events == [TextDelta(text="so"), Finish(reason="length", usage=NO_USAGE)]


async def test_tools_are_offered_with_input_schema(
    llm: ScriptedLLM, anthropic_model: AnthropicModel
) -> None:
    llm.reply_text(["ok"])

    await collect(anthropic_model.stream(system="", history=HELLO, tools=[READ]))

    assert body_of(llm)["tools"] == [
        {"name": "files__read", "description": "Read a file.", "input_schema": READ.input_schema}
    ]


async def test_no_tools_or_system_keys_when_empty(
    llm: ScriptedLLM, anthropic_model: AnthropicModel
) -> None:
    llm.reply_text(["ok"])

    await collect(anthropic_model.stream(system="", history=HELLO, tools=[]))

    assert "tools" not in body_of(llm)
    assert "system" not in body_of(llm)


async def test_history_is_sent_in_messages_form(
    llm: ScriptedLLM, anthropic_model: AnthropicModel
) -> None:
    history = [
        message("user", "read a and b"),
        message(
            "assistant",
            "Reading.",
            tool_calls=[
                ToolCall(id="toolu_a", name="files__read", arguments={"path": "a"}),
                ToolCall(id="toolu_b", name="files__read", arguments={"path": "b"}),
            ],
        ),
        message(
            "tool",
            tool_results=[
                result(
                    "toolu_a", "files__read", "alpha", ImageBlock(data="AA", mime_type="image/png")
                ),
                result("toolu_b", "files__read", "no such file", is_error=True),
            ],
        ),
        message("assistant", ""),  # a step cancelled before any text: not sent
        message("system", "The user is on a phone."),
        message("user", "thanks"),
    ]
    llm.reply_text(["ok"])

    await collect(anthropic_model.stream(system="You are helpful.", history=history, tools=[]))

    body = body_of(llm)
    assert body["system"] == "You are helpful.\n\nThe user is on a phone."
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "read a and b"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Reading."},
                {
                    "type": "tool_use",
                    "id": "toolu_a",
                    "name": "files__read",
                    "input": {"path": "a"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_b",
                    "name": "files__read",
                    "input": {"path": "b"},
                },
            ],
        },
        {  # the results and the next user message merge: roles must alternate
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_a",
                    "content": "alpha\n[image image/png]",
                    "is_error": False,
                },
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_b",
                    "content": "no such file",
                    "is_error": True,
                },
                {"type": "text", "text": "thanks"},
            ],
        },
    ]


async def test_http_error_raises_with_status_and_message(
    llm: ScriptedLLM, anthropic_model: AnthropicModel
) -> None:
    llm.reply_error(529, "Overloaded")

    with pytest.raises(LLMError, match=r"HTTP 529 .*Overloaded"):
        await collect(anthropic_model.stream(system="", history=HELLO, tools=[]))


async def test_dropped_stream_raises_after_the_deltas_that_arrived(
    llm: ScriptedLLM, anthropic_model: AnthropicModel
) -> None:
    llm.reply_drop(["one ", "two ", "three"], after=2)
    events: list[ModelEvent] = []

    with pytest.raises(LLMError):
        await collect(anthropic_model.stream(system="", history=HELLO, tools=[]), into=events)

    assert events == [TextDelta(text="one "), TextDelta(text="two ")]


async def test_stream_ending_without_message_stop_raises(
    llm: ScriptedLLM, anthropic_model: AnthropicModel
) -> None:
    llm.reply(Reply(text=["one ", "two"], end_after=2))

    with pytest.raises(LLMError, match="ended before the model finished"):
        await collect(anthropic_model.stream(system="", history=HELLO, tools=[]))


async def test_error_event_raises_with_its_type(
    llm: ScriptedLLM, anthropic_model: AnthropicModel
) -> None:
    llm.reply(Reply(text=["partial"], stream_error="Overloaded"))

    with pytest.raises(LLMError, match="overloaded_error: Overloaded"):
        await collect(anthropic_model.stream(system="", history=HELLO, tools=[]))


async def test_slow_stream_times_out(llm: ScriptedLLM) -> None:
    llm.reply_text(["too ", "slow"], delay_s=2)
    model = AnthropicModel(llm.base_url, "test-key", "claude-test", timeout_s=0.1)
    try:
        with pytest.raises(LLMError, match="timed out"):
            await collect(model.stream(system="", history=HELLO, tools=[]))
    finally:
        await model.aclose()


async def test_refused_connection_raises(refused_url: str) -> None:
    model = AnthropicModel(refused_url, "test-key", "claude-test")
    try:
        with pytest.raises(LLMError, match="ConnectError"):
            await collect(model.stream(system="", history=HELLO, tools=[]))
    finally:
        await model.aclose()
