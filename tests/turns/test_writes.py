from __future__ import annotations

import itertools
import math
import time
from collections.abc import AsyncIterator

import pytest

from faceplate.agents.openai import OpenAIModel
from faceplate.db import Database
from tests.support.scripted_llm import ScriptedLLM
from tests.turns.helpers import drain, text_of
from tests.turns.rig import Toolbox, history, outbox, owner, registry

DELTAS = 2_000

# Test-only: every write statement on the two tables a turn touches, logged as it happens (a
# real count, on the real database: statement-level triggers fire once per statement).
_COUNT_WRITES = [
    """CREATE TABLE public.write_log (
        tbl text NOT NULL, op text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())""",
    """CREATE FUNCTION public.log_write() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN INSERT INTO public.write_log (tbl, op) VALUES (TG_TABLE_NAME, TG_OP); RETURN NULL; END
       $$""",
    """CREATE TRIGGER messages_writes AFTER INSERT OR UPDATE OR DELETE ON faceplate.messages
       FOR EACH STATEMENT EXECUTE FUNCTION public.log_write()""",
    """CREATE TRIGGER conversations_writes AFTER INSERT OR UPDATE OR DELETE
       ON faceplate.conversations FOR EACH STATEMENT EXECUTE FUNCTION public.log_write()""",
]


@pytest.fixture
async def openai_model(llm: ScriptedLLM) -> AsyncIterator[OpenAIModel]:
    model = OpenAIModel(llm.base_url, "test-key", llm.model, timeout_s=10)
    yield model
    await model.aclose()


async def test_a_2000_delta_turn_writes_the_database_a_few_times(
    db: Database, llm: ScriptedLLM, openai_model: OpenAIModel
) -> None:
    chunks = [f"t{i} " for i in range(DELTAS)]
    llm.reply_text(chunks, delay_s=0.001)  # about two seconds of streaming
    user, conversation = await owner(db)
    async with db.connection() as conn:
        for statement in _COUNT_WRITES:
            await conn.execute(statement)
    turns = registry(db, openai_model, Toolbox())
    box = outbox()
    await turns.join(conversation, box)
    started = time.monotonic()
    await turns.start(user, conversation, "count to 2000")
    await turns.wait(conversation)
    streamed_s = time.monotonic() - started
    frames = drain(box)
    assert text_of(frames) == "".join(chunks)
    async with db.connection() as conn:
        writes = [
            (r["tbl"], r["op"], r["at"])
            for r in await conn.fetch("SELECT tbl, op, at FROM public.write_log ORDER BY at")
        ]
    messages = [(op, at) for tbl, op, at in writes if tbl == "messages"]
    inserts = [at for op, at in messages if op == "INSERT"]
    updates = [at for op, at in messages if op == "UPDATE"]
    assert len(inserts) == 2  # the user's message, the assistant's at its first text
    # Content at most once a second while streaming, then the finish.
    assert 1 <= len(updates) <= math.ceil(streamed_s) + 1
    # (The finish follows the stream's end at once: it is left out of the spacing.)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(updates[:-1])]
    assert all(gap >= 0.9 for gap in gaps), gaps
    # Each message also moves its conversation's updated_at, in the same statement.
    assert [op for tbl, op, _ in writes if tbl == "conversations"] == ["UPDATE", "UPDATE"]
    assert len(writes) <= 4 + math.ceil(streamed_s) + 1
    stored = await history(db, user, conversation)
    assert (stored[-1].content, stored[-1].finish_reason) == ("".join(chunks), "stop")
