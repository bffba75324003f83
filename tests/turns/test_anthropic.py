"""The anthropic provider behind the same turns, against an Anthropic-format scripted server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from faceplate.agents.anthropic import AnthropicModel
from faceplate.app import create_app
from faceplate.db import Database
from tests.support.app import dev_settings
from tests.support.scripted_llm import ScriptedCall, ScriptedLLM
from tests.turns.helpers import (
    assert_numbered,
    connect,
    drain,
    new_conversation,
    receive,
    stored,
    text_of,
    until,
)
from tests.turns.rig import Toolbox, history, outbox, owner, registry

CHUNKS = ["Bonjour", ", ", "le ", "monde", "."]


@pytest.fixture
def anthropic_app(database_url: str, tmp_path: Path, llm: ScriptedLLM) -> Iterator[TestClient]:
    settings = dev_settings(
        database_url,
        tmp_path / "data",
        llm="anthropic",
        llm_base_url=llm.base_url,
        llm_api_key="test-key",
        llm_model=llm.model,
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
async def anthropic_model(llm: ScriptedLLM) -> AsyncIterator[AnthropicModel]:
    model = AnthropicModel(llm.base_url, "test-key", llm.model, timeout_s=10)
    yield model
    await model.aclose()


def test_an_anthropic_turn_streams_and_is_stored(
    anthropic_app: TestClient, alice: dict[str, str], llm: ScriptedLLM
) -> None:
    llm.reply_text(CHUNKS, usage=(12, 5))
    conversation = new_conversation(anthropic_app, alice)
    with connect(anthropic_app, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "Say hello in French"})
        frames = until(ws, "turn_end")
    assert_numbered(frames)
    assert text_of(frames) == "".join(CHUNKS)
    assert frames[-1]["status"] == "completed"
    assistant = stored(anthropic_app, alice, conversation)[-1]
    assert (assistant["content"], assistant["finish_reason"]) == ("".join(CHUNKS), "stop")
    request = llm.requests[0]
    assert request.path.endswith("/messages")
    assert request.body["system"] == anthropic_app.app_state["faceplate"].settings.system_prompt
    assert request.body["messages"][-1]["role"] == "user"


async def test_an_anthropic_model_runs_the_tool_loop(
    db: Database, llm: ScriptedLLM, anthropic_model: AnthropicModel
) -> None:
    llm.reply_tool_calls([ScriptedCall(name="add", arguments={"a": 20, "b": 22})], text=["Adding."])
    llm.reply_text(["It is ", "42."])
    user, conversation = await owner(db)
    turns = registry(db, anthropic_model, Toolbox())
    box = outbox()
    await turns.join(conversation, box)
    await turns.start(user, conversation, "What is 20 + 22?")
    await turns.wait(conversation)
    frames = drain(box)
    assert_numbered(frames[1:])
    results = [f["tool_result"] for f in frames if f["type"] == "tool_result"]
    assert [(r["name"], r["content"][0]["text"]) for r in results] == [("add", "42")]
    assert text_of(frames) == "Adding.It is 42."
    assert [(m.role, m.finish_reason) for m in await history(db, user, conversation)] == [
        ("user", None),
        ("assistant", "tool_calls"),
        ("tool", None),
        ("assistant", "stop"),
    ]
    sent = llm.requests[1].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[2]["content"][0]["type"] == "tool_result"
