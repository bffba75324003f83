"""EchoModel, the offline dev model."""

from __future__ import annotations

import asyncio
import re

from faceplate.agents.base import (
    INVALID_ARGUMENTS_KEY,
    Finish,
    ModelEvent,
    TextDelta,
    ToolCallRequest,
    ToolSpec,
)
from faceplate.agents.echo import LABEL, EchoModel
from faceplate.structs import Message, ToolCall
from tests.agents.helpers import collect, message, result, text_of

READ = ToolSpec(name="files__read", description="Read a file.", input_schema={"type": "object"})


async def run(history: list[Message], tools: list[ToolSpec] | None = None) -> list[ModelEvent]:
    return await collect(EchoModel().stream(system="", history=history, tools=tools or [READ]))


def only_call(events: list[ModelEvent]) -> ToolCall:
    assert len(events) == 2
    assert events[1] == Finish(reason="tool_calls")
    assert isinstance(events[0], ToolCallRequest)
    return events[0].tool_call


async def test_echoes_the_last_user_message_word_by_word() -> None:
    events = await run([message("user", "first"), message("user", "hello big  world")])

    assert events == [
        TextDelta(text=LABEL),
        TextDelta(text="hello "),
        TextDelta(text="big  "),
        TextDelta(text="world"),
        Finish(reason="stop"),
    ]


async def test_keeps_line_breaks() -> None:
    events = await run([message("user", "line one\nline two\n")])

    assert text_of(events) == LABEL + "line one\nline two"


async def test_lets_other_tasks_run_between_words() -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    seen: list[int] = []
    try:
        async for _ in EchoModel().stream(system="", history=[message("user", "a b c")], tools=[]):
            seen.append(ticks)
    finally:
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)

    label_and_words = seen[:4]
    assert label_and_words == sorted(set(label_and_words))


async def test_empty_history_answers_with_a_placeholder() -> None:
    events = await run([])

    assert text_of(events) == LABEL + "(nothing to echo)"


async def test_call_command_requests_the_tool_with_json_arguments() -> None:
    call = only_call(await run([message("user", '/call files__read {"path": "a.txt"}')]))

    assert call.name == "files__read"
    assert call.arguments == {"path": "a.txt"}
    assert re.fullmatch(r"call_[0-9a-f]+", call.id)


async def test_call_command_without_arguments_sends_an_empty_object() -> None:
    call = only_call(await run([message("user", "  /call files__read  ")]))

    assert call.arguments == {}


async def test_call_command_with_bad_json_keeps_the_raw_text() -> None:
    call = only_call(await run([message("user", "/call files__read {path: a}")]))

    assert call.arguments == {INVALID_ARGUMENTS_KEY: "{path: a}"}


async def test_call_command_requests_a_tool_that_is_not_offered() -> None:
    call = only_call(await run([message("user", "/call nope__missing")], tools=[]))

    assert call.name == "nope__missing"


async def test_answers_tool_results_with_their_text() -> None:
    history = [
        message("user", "/call files__read"),
        message("assistant", tool_calls=[ToolCall(id="c1", name="files__read", arguments={})]),
        message(
            "tool",
            tool_results=[
                result("c1", "files__read", "hello from a"),
                result("c2", "files__list", "denied", is_error=True),
            ],
        ),
    ]

    events = await run(history)

    assert text_of(events) == (
        LABEL + "tool files__read returned: hello from a\ntool files__list failed: denied"
    )
    assert events[-1] == Finish(reason="stop")
