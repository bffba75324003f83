from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from typing import Any
from uuid import UUID

import msgspec
from uuid6 import uuid7

from faceplate.db import Conn, Database
from faceplate.queries.conversations import get_conversation
from faceplate.queries.messages import (
    create_message,
    finish_message,
    list_history,
    list_messages,
    update_message_content,
)
from faceplate.structs import (
    ImageBlock,
    Message,
    ResourceBlock,
    TextBlock,
    ToolCall,
    ToolResult,
)
from tests.sql.factories import make_conversation, make_message, make_user

LONG_AGO = datetime(2001, 1, 1, tzinfo=UTC)

ARGUMENTS: dict[str, Any] = {
    "query": "café ☕ — 東京 🚀",
    "limit": 10,
    "ratio": 0.25,
    "negative": -7,
    "big": 9_007_199_254_740_993,
    "flags": [True, False, None],
    "nested": {"list": [1, "two", {"three": [3.5, []]}], "empty": {}, "quote": 'say "hi"\n'},
}

TOOL_CALLS = [
    ToolCall(id="call_1", name="search__web", arguments=ARGUMENTS),
    ToolCall(id="call_2", name="files__read", arguments={}),
]

TOOL_RESULTS = [
    ToolResult(
        tool_call_id="call_1",
        name="search__web",
        is_error=False,
        content=[
            TextBlock(text="Ergebnis: ünïcödé ✓"),
            ImageBlock(data="iVBORw0KGgo=", mime_type="image/png"),
            ResourceBlock(uri="file:///notes.md", mime_type="text/markdown", text="# Notes"),
            ResourceBlock(uri="file:///blob.bin", blob="AAEC"),
        ],
        duration_ms=1234,
    ),
    ToolResult(
        tool_call_id="call_2",
        name="files__read",
        is_error=True,
        content=[TextBlock(text="no such file")],
        duration_ms=0,
    ),
]


async def _pages(
    conn: Conn, user_id: UUID, conversation_id: UUID, page_size: int
) -> list[list[Message]]:
    pages: list[list[Message]] = []
    after: int | None = None
    while True:
        rows = await list_messages(
            conn,
            user_id=user_id,
            conversation_id=conversation_id,
            after_depth=after,
            limit=page_size + 1,
        )
        pages.append(rows[:page_size])
        if len(rows) <= page_size:
            return pages
        after = (after if after is not None else -1) + page_size


def _as_sent(messages: list[Message]) -> list[Message]:
    """Messages as the history reads them: the model is sent no sibling_ids."""
    return [msgspec.structs.replace(m, sibling_ids=[]) for m in messages]


async def _count(conn: Conn, conversation_id: UUID) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM faceplate.messages WHERE conversation_id = $1", conversation_id
    )
    return count


async def test_create_returns_the_stored_message(db: Database) -> None:
    message_id = uuid7()
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id)
        created = await create_message(
            conn,
            user_id=user.id,
            conversation_id=conversation.id,
            id=message_id,
            role="user",
            content="Hello there",
        )
        history = await list_history(conn, user_id=user.id, conversation_id=conversation.id)
    assert created is not None
    assert (created.id, created.conversation_id, created.role, created.content) == (
        message_id,
        conversation.id,
        "user",
        "Hello there",
    )
    assert (created.tool_calls, created.tool_results, created.finish_reason) == (None, None, None)
    assert history == _as_sent([created])


async def test_create_moves_the_conversations_updated_at(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id)
        await conn.execute(
            "UPDATE faceplate.conversations SET updated_at = $2 WHERE id = $1",
            conversation.id,
            LONG_AGO,
        )
        await make_message(conn, user.id, conversation.id)
        after = await get_conversation(conn, user_id=user.id, conversation_id=conversation.id)
    assert after is not None
    assert after.updated_at > LONG_AGO


async def test_create_titles_an_untitled_conversation(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id, title=None)
        await create_message(
            conn,
            user_id=user.id,
            conversation_id=conversation.id,
            id=uuid7(),
            role="user",
            content="Plan a trip\nto Lisbon",
            title_if_untitled="Plan a trip",
        )
        after = await get_conversation(conn, user_id=user.id, conversation_id=conversation.id)
    assert after is not None
    assert after.title == "Plan a trip"


async def test_create_keeps_an_existing_title(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id, title="Mine")
        await create_message(
            conn,
            user_id=user.id,
            conversation_id=conversation.id,
            id=uuid7(),
            role="user",
            content="Something else",
            title_if_untitled="Something else",
        )
        after = await get_conversation(conn, user_id=user.id, conversation_id=conversation.id)
    assert after is not None
    assert after.title == "Mine"


async def test_create_without_a_title_leaves_an_untitled_conversation_untitled(
    db: Database,
) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id, title=None)
        await make_message(conn, user.id, conversation.id)
        after = await get_conversation(conn, user_id=user.id, conversation_id=conversation.id)
    assert after is not None
    assert after.title is None


async def test_create_in_another_users_conversation_inserts_nothing(db: Database) -> None:
    async with db.connection() as conn:
        owner, other = await make_user(conn, "ada"), await make_user(conn, "eve")
        conversation = await make_conversation(conn, owner.id, title=None)
        created = await create_message(
            conn,
            user_id=other.id,
            conversation_id=conversation.id,
            id=uuid7(),
            role="user",
            content="Intrusion",
            title_if_untitled="Intrusion",
        )
        count = await _count(conn, conversation.id)
        after = await get_conversation(conn, user_id=owner.id, conversation_id=conversation.id)
    assert created is None
    assert count == 0
    assert after == conversation


async def test_tool_calls_round_trip_through_jsonb(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id)
        created = await create_message(
            conn,
            user_id=user.id,
            conversation_id=conversation.id,
            id=uuid7(),
            role="assistant",
            content="",
            tool_calls=TOOL_CALLS,
            finish_reason="tool_calls",
        )
        history = await list_history(conn, user_id=user.id, conversation_id=conversation.id)
        nested = await conn.fetchval(
            "SELECT m.tool_calls -> 0 -> 'arguments' -> 'nested' -> 'list' -> 2 ->> 'three'"
            " FROM faceplate.messages AS m WHERE m.conversation_id = $1",
            conversation.id,
        )
    assert created is not None
    assert created.tool_calls == TOOL_CALLS
    assert history[0].tool_calls == TOOL_CALLS
    assert nested == "[3.5, []]"


async def test_tool_results_round_trip_through_jsonb(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id)
        created = await create_message(
            conn,
            user_id=user.id,
            conversation_id=conversation.id,
            id=uuid7(),
            role="tool",
            content="",
            tool_results=TOOL_RESULTS,
        )
        history = await list_history(conn, user_id=user.id, conversation_id=conversation.id)
        types = await conn.fetchval(
            "SELECT jsonb_path_query_array(m.tool_results, '$[*].content[*].type')"
            " FROM faceplate.messages AS m WHERE m.conversation_id = $1",
            conversation.id,
        )
    assert created is not None
    assert created.tool_results == TOOL_RESULTS
    assert history[0].tool_results == TOOL_RESULTS
    assert types == ["text", "image", "resource", "resource", "text"]


async def test_list_is_oldest_first_across_pages_of_one_transaction(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id)
        async with conn.transaction():
            written = [
                (await make_message(conn, user.id, conversation.id, content=str(n))).id
                for n in range(12)
            ]
        pages = await _pages(conn, user.id, conversation.id, page_size=5)
    assert [len(p) for p in pages] == [5, 5, 2]
    listed = [m for page in pages for m in page]
    assert [m.id for m in listed] == written
    assert all(a.created_at < b.created_at for a, b in pairwise(listed))


async def test_list_pages_cover_equal_created_at_exactly_once(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id)
        ids = [(await make_message(conn, user.id, conversation.id)).id for _ in range(13)]
        await conn.execute(
            "UPDATE faceplate.messages SET created_at = $2 WHERE conversation_id = $1",
            conversation.id,
            LONG_AGO,
        )
        pages = await _pages(conn, user.id, conversation.id, page_size=5)
    assert [len(p) for p in pages] == [5, 5, 3]
    # PostgreSQL orders uuid bytewise, as Python orders UUIDs: ties are broken by id.
    assert [m.id for page in pages for m in page] == sorted(ids)


async def test_list_shows_only_that_conversations_messages(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation, elsewhere = (
            await make_conversation(conn, user.id),
            await make_conversation(conn, user.id),
        )
        mine = [(await make_message(conn, user.id, conversation.id)).id for _ in range(2)]
        await make_message(conn, user.id, elsewhere.id)
        rows = await list_messages(
            conn,
            user_id=user.id,
            conversation_id=conversation.id,
            after_depth=None,
            limit=10,
        )
    assert [m.id for m in rows] == mine


async def test_list_for_another_user_is_empty(db: Database) -> None:
    async with db.connection() as conn:
        owner, other = await make_user(conn, "ada"), await make_user(conn, "eve")
        conversation = await make_conversation(conn, owner.id)
        await make_message(conn, owner.id, conversation.id)
        rows = await list_messages(
            conn,
            user_id=other.id,
            conversation_id=conversation.id,
            after_depth=None,
            limit=10,
        )
    assert rows == []


async def test_history_is_every_message_oldest_first(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id)
        written = [
            await make_message(conn, user.id, conversation.id, role="user", content="q"),
            await make_message(
                conn, user.id, conversation.id, role="assistant", finish_reason="stop"
            ),
            await make_message(conn, user.id, conversation.id, role="user", content="again"),
        ]
        history = await list_history(conn, user_id=user.id, conversation_id=conversation.id)
    assert history == _as_sent(written)


async def test_history_for_another_user_is_empty(db: Database) -> None:
    async with db.connection() as conn:
        owner, other = await make_user(conn, "ada"), await make_user(conn, "eve")
        conversation = await make_conversation(conn, owner.id)
        await make_message(conn, owner.id, conversation.id)
        assert await list_history(conn, user_id=other.id, conversation_id=conversation.id) == []


async def test_update_content_of_a_streaming_message(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id)
        streaming = await make_message(conn, user.id, conversation.id, role="assistant", content="")
        updated = await update_message_content(
            conn, user_id=user.id, message_id=streaming.id, content="Partial ans"
        )
        history = await list_history(conn, user_id=user.id, conversation_id=conversation.id)
    assert updated == 1
    assert history[0].content == "Partial ans"
    assert history[0].finish_reason is None


async def test_update_content_of_a_finished_message_does_nothing(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id)
        finished = await make_message(
            conn, user.id, conversation.id, role="assistant", content="Done", finish_reason="stop"
        )
        updated = await update_message_content(
            conn, user_id=user.id, message_id=finished.id, content="Late chunk"
        )
        history = await list_history(conn, user_id=user.id, conversation_id=conversation.id)
    assert updated == 0
    assert history == _as_sent([finished])


async def test_update_content_by_another_user_does_nothing(db: Database) -> None:
    async with db.connection() as conn:
        owner, other = await make_user(conn, "ada"), await make_user(conn, "eve")
        conversation = await make_conversation(conn, owner.id)
        streaming = await make_message(
            conn, owner.id, conversation.id, role="assistant", content="Mine"
        )
        updated = await update_message_content(
            conn, user_id=other.id, message_id=streaming.id, content="Theirs"
        )
        history = await list_history(conn, user_id=owner.id, conversation_id=conversation.id)
    assert updated == 0
    assert history == _as_sent([streaming])


async def test_update_content_of_a_user_message_does_nothing(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id)
        question = await make_message(conn, user.id, conversation.id, role="user", content="Q?")
        updated = await update_message_content(
            conn, user_id=user.id, message_id=question.id, content="Rewritten"
        )
        history = await list_history(conn, user_id=user.id, conversation_id=conversation.id)
    assert updated == 0
    assert history == _as_sent([question])


async def test_finish_sets_content_tool_calls_and_finish_reason(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id)
        streaming = await make_message(conn, user.id, conversation.id, role="assistant", content="")
        finished = await finish_message(
            conn,
            user_id=user.id,
            message_id=streaming.id,
            content="Let me look that up.",
            tool_calls=TOOL_CALLS,
            finish_reason="tool_calls",
        )
        history = await list_history(conn, user_id=user.id, conversation_id=conversation.id)
    assert finished is not None
    assert (finished.content, finished.tool_calls, finished.finish_reason) == (
        "Let me look that up.",
        TOOL_CALLS,
        "tool_calls",
    )
    assert (finished.id, finished.created_at) == (streaming.id, streaming.created_at)
    assert history == _as_sent([finished])


async def test_finish_without_tool_calls_stores_null(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id)
        streaming = await make_message(conn, user.id, conversation.id, role="assistant", content="")
        finished = await finish_message(
            conn,
            user_id=user.id,
            message_id=streaming.id,
            content="Hello!",
            tool_calls=None,
            finish_reason="stop",
        )
        stored = await conn.fetchval(
            "SELECT m.tool_calls IS NULL FROM faceplate.messages AS m WHERE m.id = $1",
            streaming.id,
        )
    assert finished is not None
    assert finished.tool_calls is None
    assert stored is True


async def test_finish_by_another_user_does_nothing(db: Database) -> None:
    async with db.connection() as conn:
        owner, other = await make_user(conn, "ada"), await make_user(conn, "eve")
        conversation = await make_conversation(conn, owner.id)
        streaming = await make_message(conn, owner.id, conversation.id, role="assistant")
        finished = await finish_message(
            conn,
            user_id=other.id,
            message_id=streaming.id,
            content="Hijacked",
            tool_calls=None,
            finish_reason="stop",
        )
        history = await list_history(conn, user_id=owner.id, conversation_id=conversation.id)
    assert finished is None
    assert history == _as_sent([streaming])


async def test_finish_of_a_user_message_does_nothing(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id)
        question = await make_message(conn, user.id, conversation.id, role="user", content="Q?")
        finished = await finish_message(
            conn,
            user_id=user.id,
            message_id=question.id,
            content="Rewritten",
            tool_calls=None,
            finish_reason="stop",
        )
    assert finished is None


async def test_pages_of_a_deep_branch_follow_it_root_first(db: Database) -> None:
    """Deep enough for the walk to jump 64 levels at a time; a branch forks at 100."""
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id)
        made = [
            await make_message(conn, user.id, conversation.id, content=f"m{n}") for n in range(300)
        ]
        side = await create_message(
            conn,
            user_id=user.id,
            conversation_id=conversation.id,
            id=uuid7(),
            role="user",
            content="side",
            new_branch=True,
            parent_id=made[100].id,
        )
        assert side is not None
        for n in range(150):
            await make_message(conn, user.id, conversation.id, content=f"s{n}")
        history = await list_history(conn, user_id=user.id, conversation_id=conversation.id)
        pages = await _pages(conn, user.id, conversation.id, 7)
    expected = [f"m{n}" for n in range(101)] + ["side"] + [f"s{n}" for n in range(150)]
    assert [m.content for m in history] == expected
    assert [m.content for page in pages for m in page] == expected


async def test_the_page_relays_the_stored_json_as_it_is(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id)
        calls = await create_message(
            conn,
            user_id=user.id,
            conversation_id=conversation.id,
            id=uuid7(),
            role="assistant",
            content="",
            tool_calls=TOOL_CALLS,
            finish_reason="tool_calls",
        )
        results = await create_message(
            conn,
            user_id=user.id,
            conversation_id=conversation.id,
            id=uuid7(),
            role="tool",
            content="",
            tool_results=TOOL_RESULTS,
        )
        stored = await conn.fetch(
            "SELECT m.tool_calls::text AS c, m.tool_results::text AS r"
            " FROM faceplate.messages AS m WHERE m.conversation_id = $1"
            " ORDER BY m.depth",
            conversation.id,
        )
        listed_calls, listed_results = await list_messages(
            conn, user_id=user.id, conversation_id=conversation.id, after_depth=None, limit=10
        )
    assert calls is not None and results is not None
    # The text PostgreSQL keeps, not a re-encoding: its spacing and key order.
    assert listed_calls.tool_calls == msgspec.Raw(stored[0]["c"])
    assert listed_results.tool_results == msgspec.Raw(stored[1]["r"])
    assert listed_calls.tool_results is None and listed_results.tool_calls is None
    # JSON-equal to the typed message, field for field (sibling_ids aside: not a column).
    for listed, typed in ((listed_calls, calls), (listed_results, results)):
        as_listed = msgspec.json.decode(msgspec.json.encode(listed))
        as_typed = msgspec.json.decode(msgspec.json.encode(typed))
        assert {k: v for k, v in as_listed.items() if k != "sibling_ids"} == {
            k: v for k, v in as_typed.items() if k != "sibling_ids"
        }
        assert as_listed["sibling_ids"] == [str(listed.id)]
