"""Turns as database facts, with two registries on one database standing for two instances."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from faceplate.agents.echo import EchoModel
from faceplate.agents.openai import OpenAIModel
from faceplate.db import Database
from faceplate.errors import RateLimited
from faceplate.turns.leases import TurnInProgress, TurnLimits
from faceplate.turns.takeover import UNKNOWN_OUTCOME
from tests.support.scripted_llm import ScriptedLLM
from tests.turns.helpers import drain
from tests.turns.rig import (
    Toolbox,
    another_conversation,
    expire_leases,
    history,
    outbox,
    owner,
    registry,
    turn_rows,
    until_type,
)


@pytest.fixture
async def openai_model(llm: ScriptedLLM) -> AsyncIterator[OpenAIModel]:
    model = OpenAIModel(llm.base_url, "test-key", llm.model, timeout_s=10)
    yield model
    await model.aclose()


async def test_a_turn_running_on_one_instance_refuses_a_message_on_another(
    db: Database,
) -> None:
    user, conversation = await owner(db)
    tools = Toolbox()
    a = registry(db, EchoModel(), tools, instance_id="a")
    b = registry(db, EchoModel(), tools, instance_id="b")
    await a.start(user, conversation, "/call hold")
    await tools.held.wait()
    before = await history(db, user, conversation)
    with pytest.raises(TurnInProgress):
        await b.start(user, conversation, "second")
    assert await history(db, user, conversation) == before  # nothing stored
    tools.release.set()
    await a.wait(conversation)
    assert [row[:2] for row in await turn_rows(db, conversation)] == [("completed", "a")]
    await b.start(user, conversation, "now it may")
    await b.wait(conversation)
    assert [row[:2] for row in await turn_rows(db, conversation)] == [
        ("completed", "a"),
        ("completed", "b"),
    ]


async def test_two_messages_racing_on_two_instances_start_one_turn(db: Database) -> None:
    user, conversation = await owner(db)
    tools = Toolbox()
    a = registry(db, EchoModel(), tools, instance_id="a")
    b = registry(db, EchoModel(), tools, instance_id="b")
    results = await asyncio.gather(
        a.start(user, conversation, "/call hold"),
        b.start(user, conversation, "/call hold"),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["TurnInProgress", "UUID"]
    tools.release.set()
    await a.wait(conversation)
    await b.wait(conversation)
    stored = await history(db, user, conversation)
    assert [m.role for m in stored].count("user") == 1


async def test_the_turns_a_user_runs_at_once_are_counted_across_instances(
    db: Database,
) -> None:
    user, first = await owner(db)
    second, third = await another_conversation(db, user), await another_conversation(db, user)
    tools = Toolbox()
    limits = TurnLimits(turns_per_user=2, turns_per_minute=100)
    a = registry(db, EchoModel(), tools, instance_id="a", limits=limits)
    b = registry(db, EchoModel(), tools, instance_id="b", limits=limits)
    await a.start(user, first, "/call hold")
    await b.start(user, second, "/call hold")
    with pytest.raises(RateLimited) as refused:
        await a.start(user, third, "third")
    assert refused.value.retry_after_s >= 1
    assert await history(db, user, third) == []
    other, elsewhere = await owner(db, "bob")  # another user's limits are their own
    await b.start(other, elsewhere, "hello")
    tools.release.set()
    for turns, conversation in ((a, first), (b, second), (b, elsewhere)):
        await turns.wait(conversation)
    await a.start(user, third, "now")
    await a.wait(third)


async def test_concurrent_claims_at_the_limit_let_exactly_one_through(db: Database) -> None:
    user, first = await owner(db)
    conversations = [first, *[await another_conversation(db, user) for _ in range(3)]]
    tools = Toolbox()
    limits = TurnLimits(turns_per_user=1, turns_per_minute=100)
    instances = [
        registry(db, EchoModel(), tools, instance_id=f"i{n}", limits=limits) for n in range(4)
    ]
    results = await asyncio.gather(
        *(t.start(user, c, "/call hold") for t, c in zip(instances, conversations, strict=True)),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["RateLimited"] * 3 + ["UUID"]
    tools.release.set()
    for turns, conversation in zip(instances, conversations, strict=True):
        await turns.wait(conversation)


async def test_turns_started_in_any_minute_are_counted(db: Database) -> None:
    user, conversation = await owner(db)
    limits = TurnLimits(turns_per_user=3, turns_per_minute=2)
    a = registry(db, EchoModel(), Toolbox(), instance_id="a", limits=limits)
    b = registry(db, EchoModel(), Toolbox(), instance_id="b", limits=limits)
    for turns in (a, b):
        await turns.start(user, conversation, "hello")
        await turns.wait(conversation)
    with pytest.raises(RateLimited) as refused:
        await a.start(user, conversation, "one too many")
    assert 1 <= refused.value.retry_after_s <= 60
    assert [m.content for m in await history(db, user, conversation) if m.role == "user"] == [
        "hello",
        "hello",
    ]


async def test_a_dead_instances_tool_call_is_answered_unknown_and_never_run_again(
    db: Database,
) -> None:
    user, conversation = await owner(db)
    tools = Toolbox()
    dead = registry(db, EchoModel(), tools, instance_id="dead")
    await dead.start(user, conversation, "/call hold")
    await tools.held.wait()
    survivor = registry(db, EchoModel(), Toolbox(), instance_id="survivor")
    await survivor.beat()  # the lease still holds: nothing is taken
    assert [row[0] for row in await turn_rows(db, conversation)] == ["running"]
    await expire_leases(db)
    await survivor.beat()
    assert await turn_rows(db, conversation) == [("interrupted", "survivor", 2)]
    stored = await history(db, user, conversation)
    assert [m.role for m in stored] == ["user", "assistant", "tool"]
    call = stored[1].tool_calls
    assert call is not None
    results = stored[2].tool_results
    assert results is not None
    assert [(r.tool_call_id, r.is_error) for r in results] == [(call[0].id, True)]
    assert results[0].content[0].text == UNKNOWN_OUTCOME  # type: ignore[union-attr]
    # The old owner wakes up: its writes are fenced off, and it ends its turn as lost.
    box = outbox()
    await dead.join(conversation, box)
    await dead.beat()
    tools.release.set()
    await dead.wait(conversation)
    end = drain(box)[-1]
    assert (end["type"], end["status"], end["error"]["code"]) == (
        "turn_end",
        "failed",
        "interrupted",
    )
    assert await history(db, user, conversation) == stored
    assert len(tools.calls) == 1
    # The conversation takes a new turn.
    await survivor.start(user, conversation, "again")
    await survivor.wait(conversation)
    assert (await history(db, user, conversation))[-1].finish_reason == "stop"


async def test_a_dead_instances_streaming_text_is_stored_interrupted(
    db: Database, llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    llm.reply_text([f"word{i} " for i in range(400)], delay_s=0.01)
    user, conversation = await owner(db)
    dead = registry(db, openai_model, Toolbox(), instance_id="dead", write_interval_s=0.05)
    box = outbox()
    await dead.join(conversation, box)
    await dead.start(user, conversation, "talk")
    await until_type(box, "text_delta")
    while not [m for m in await history(db, user, conversation) if m.role == "assistant"]:
        await asyncio.sleep(0.05)  # until the writer stored some text
    await expire_leases(db)
    survivor = registry(db, EchoModel(), Toolbox(), instance_id="survivor")
    await survivor.beat()
    stored = await history(db, user, conversation)
    assert stored[-1].role == "assistant"
    assert stored[-1].finish_reason == "interrupted"
    assert stored[-1].content.startswith("word0 ")
    kept = stored[-1].content
    await dead.beat()  # it learns it lost the lease and stops
    await dead.wait(conversation)
    assert (await history(db, user, conversation))[-1].content == kept
    assert await turn_rows(db, conversation) == [("interrupted", "survivor", 2)]


async def test_starting_an_instance_touches_no_other_instances_turns(db: Database) -> None:
    user, conversation = await owner(db)
    tools = Toolbox()
    a = registry(db, EchoModel(), tools, instance_id="a")
    await a.start(user, conversation, "/call hold")
    await tools.held.wait()
    c = registry(db, EchoModel(), Toolbox(), instance_id="c")
    c.open()
    await c.beat()
    assert await turn_rows(db, conversation) == [("running", "a", 1)]
    tools.release.set()
    await a.wait(conversation)
    assert await turn_rows(db, conversation) == [("completed", "a", 1)]
    assert (await history(db, user, conversation))[-1].finish_reason == "stop"
    await c.aclose()


async def test_the_heartbeat_renews_every_lease_of_its_instance(db: Database) -> None:
    user, first = await owner(db)
    second = await another_conversation(db, user)
    tools = Toolbox()
    a = registry(db, EchoModel(), tools, instance_id="a")
    await a.start(user, first, "/call hold")
    await a.start(user, second, "/call hold")
    await tools.held.wait()
    await expire_leases(db)
    mine = {a._running[first].runner.fence.id, a._running[second].runner.fence.id}
    assert await a.leases.renew(mine) == mine
    b = registry(db, EchoModel(), Toolbox(), instance_id="b")
    await b.beat()  # renewed: nothing to take over
    assert [row[:2] for row in await turn_rows(db, first)] == [("running", "a")]
    tools.release.set()
    await a.wait(first)
    await a.wait(second)


async def test_a_restarted_instance_of_the_same_name_does_not_keep_its_predecessors_turns(
    db: Database,
) -> None:
    user, conversation = await owner(db)
    tools = Toolbox()
    dead = registry(db, EchoModel(), tools, instance_id="fixed")
    await dead.start(user, conversation, "/call hold")
    await tools.held.wait()
    await expire_leases(db)
    restarted = registry(db, EchoModel(), Toolbox(), instance_id="fixed")
    await restarted.beat()
    assert await turn_rows(db, conversation) == [("interrupted", "fixed", 2)]
    tools.release.set()
    await dead.wait(conversation)
