"""The scripted LLM server itself, which the turn and WebSocket tests rely on."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from faceplate.agents.anthropic import AnthropicModel
from faceplate.agents.base import Finish, LLMError, ModelEvent, TextDelta
from faceplate.agents.openai import OpenAIModel
from tests.agents.helpers import collect, message, text_of
from tests.support.scripted_llm import Reply, ScriptedLLM

HELLO = [message("user", "hello")]


async def test_both_apis_take_replies_from_one_queue_in_order(
    llm: ScriptedLLM, openai_model: OpenAIModel, anthropic_model: AnthropicModel
) -> None:
    llm.reply_text(["first"])
    llm.reply_text(["second"])

    first = await collect(anthropic_model.stream(system="", history=HELLO, tools=[]))
    second = await collect(openai_model.stream(system="", history=HELLO, tools=[]))

    assert (text_of(first), text_of(second)) == ("first", "second")
    assert [r.path for r in llm.requests] == ["/v1/messages", "/v1/chat/completions"]
    assert llm.pending == 0


async def test_default_reply_answers_when_the_script_is_empty() -> None:
    async with ScriptedLLM(default=Reply(text=["fallback"])) as llm:
        model = OpenAIModel(llm.base_url, "k", llm.model)
        try:
            for _ in range(2):
                events = await collect(model.stream(system="", history=HELLO, tools=[]))
                assert text_of(events) == "fallback"
        finally:
            await model.aclose()


def test_an_unknown_path_is_a_404_and_keeps_the_script(llm: ScriptedLLM) -> None:
    llm.reply_text(["kept"])

    response = httpx.post(f"{llm.base_url}/completions", json={"prompt": "x"})

    assert response.status_code == 404
    assert llm.requests[0].body == {"prompt": "x"}
    assert llm.pending == 1


def test_env_points_the_app_at_the_server(llm: ScriptedLLM) -> None:
    assert llm.env("anthropic") == {
        "FACEPLATE_LLM": "anthropic",
        "FACEPLATE_LLM_BASE_URL": llm.base_url,
        "FACEPLATE_LLM_API_KEY": "scripted-key",
        "FACEPLATE_LLM_MODEL": "scripted",
    }


async def test_stop_cuts_a_stream_still_running() -> None:
    llm = ScriptedLLM().start()
    llm.reply_text(["slow ", "words ", "forever"], delay_s=30)
    model = OpenAIModel(llm.base_url, "k", llm.model, timeout_s=60)
    events: list[ModelEvent] = []
    reading = asyncio.create_task(
        collect(model.stream(system="", history=HELLO, tools=[]), into=events)
    )
    try:
        while not llm.requests:
            await asyncio.sleep(0.01)
        started = time.monotonic()
        await asyncio.to_thread(llm.stop)
        with pytest.raises(LLMError):
            await reading
    finally:
        await model.aclose()
        llm.stop()  # a second stop does nothing

    assert time.monotonic() - started < 5
    assert not any(isinstance(e, TextDelta | Finish) for e in events)
