from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import pytest

from faceplate.agents.echo import EchoModel
from faceplate.agents.openai import OpenAIModel
from faceplate.db import Database
from faceplate.errors import Unavailable
from faceplate.turns.fanout import LocalFanout
from faceplate.turns.frames import CloseCode
from faceplate.turns.registry import TurnInProgress
from tests.support.scripted_llm import ScriptedLLM
from tests.turns.helpers import assert_numbered, drain, text_of
from tests.turns.rig import Toolbox, history, outbox, owner, registry, until_type

CHUNKS = [f"token{i} " for i in range(60)]


@pytest.fixture
async def openai_model(llm: ScriptedLLM) -> AsyncIterator[OpenAIModel]:
    model = OpenAIModel(llm.base_url, "test-key", llm.model, timeout_s=10)
    yield model
    await model.aclose()


async def test_a_socket_too_far_behind_is_dropped_while_the_turn_goes_on(
    db: Database, llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply_text(CHUNKS, delay_s=0.002)
    user, conversation = await owner(db)
    turns = registry(db, openai_model, Toolbox())
    slow, fast = outbox(max_frames=4), outbox()
    await turns.join(conversation, slow)  # never drained: a client that stopped reading
    await turns.join(conversation, fast)
    await turns.start(user, conversation, "go")
    await turns.wait(conversation)
    assert (slow.code, len(slow)) == (CloseCode.TOO_SLOW, 0)
    assert cast(LocalFanout, turns.fanout).subscribers(conversation) == 1
    frames = drain(fast)
    assert_numbered(frames[1:])
    assert frames[-1]["status"] == "completed"
    assert text_of(frames) == "".join(CHUNKS)
    stored = await history(db, user, conversation)
    assert (stored[-1].content, stored[-1].finish_reason) == ("".join(CHUNKS), "stop")


async def test_one_turn_at_a_time_per_conversation(
    db: Database, llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply_text(["a", "b"])
    user, conversation = await owner(db)
    turns = registry(db, openai_model, Toolbox())
    turn_id = await turns.start(user, conversation, "one")
    assert turns.running(conversation) == turn_id
    with pytest.raises(TurnInProgress):
        await turns.start(user, conversation, "two")
    await turns.wait(conversation)
    assert turns.running(conversation) is None


async def test_shutdown_stores_the_partial_text_as_interrupted(
    db: Database, llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply_text(CHUNKS, delay_s=0.02)
    user, conversation = await owner(db)
    turns = registry(db, openai_model, Toolbox())
    box = outbox()
    await turns.join(conversation, box)
    await turns.start(user, conversation, "go")
    frames = await until_type(box, "text_delta")
    await turns.aclose()
    frames += drain(box)
    end = frames[-1]
    assert (end["type"], end["status"], end["error"]["code"]) == (
        "turn_end",
        "failed",
        "interrupted",
    )
    assistant = frames[-2]["message"]
    assert assistant["finish_reason"] == "interrupted"
    assert assistant["content"] == text_of(frames)
    stored = await history(db, user, conversation)
    assert stored[-1].finish_reason == "interrupted"
    with pytest.raises(Unavailable):
        await turns.start(user, conversation, "after shutdown")


async def test_a_socket_joining_while_a_tool_runs_gets_no_catch_up(db: Database) -> None:
    user, conversation = await owner(db)
    tools = Toolbox()
    turns = registry(db, EchoModel(), tools)
    await turns.start(user, conversation, "/call hold")
    await tools.held.wait()
    late = outbox()
    await turns.join(conversation, late)
    tools.release.set()
    await turns.wait(conversation)
    frames = drain(late)
    ready = frames[0]["turn"]
    assert ready["message_id"] is None
    assert ready["seq"] == 3  # turn_start, tool_call, the assistant message, …
    assert frames[1]["seq"] == 4  # … and live from the next: the tool_result
    assert frames[1]["type"] == "tool_result"
