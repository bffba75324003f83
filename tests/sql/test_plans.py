from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, LiteralString
from uuid import UUID

import psycopg
import pytest
from uuid6 import uuid7

from faceplate.db import Conn, Database
from faceplate.sql import QUERIES

# Both halves are constants: the EXPLAIN prefix and the text of a file under sql/.
# (PreparedStatement.explain() cannot serve: it json.loads what the pool's json codec decoded.)
_EXPLAIN: Final = "EXPLAIN (FORMAT JSON) "
_EXPLAIN_GENERIC: Final = "EXPLAIN (GENERIC_PLAN, FORMAT JSON) "

_USERS: Final = 40
_CONVERSATIONS_PER_USER: Final = 100
_CONVERSATIONS_WITH_MESSAGES: Final = 60
_MESSAGES_PER_CONVERSATION: Final = 60
_STREAMING: Final = 3
_T0: Final = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Loaded:
    user_id: UUID
    conversation_id: UUID
    message: tuple[datetime, UUID]
    conversation: tuple[datetime, UUID]
    depth: int  # the middle of the first conversation's active branch
    message_id: UUID  # a message in the middle of it


_WORDS: Final = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")


async def _load(conn: Conn) -> Loaded:
    """A few thousand rows shaped like real use, then ANALYZE so the planner knows it."""
    users = [uuid7() for _ in range(_USERS)]
    await conn.execute(
        "INSERT INTO faceplate.users (id, email, subject_id)"
        " SELECT u.id, u.id::text || '@example.com', 'sub-' || u.id::text"
        " FROM unnest($1::uuid[]) AS u (id)",
        users,
    )
    conversation_ids: list[UUID] = []
    owners: list[UUID] = []
    updated: list[datetime] = []
    for n, user_id in enumerate(users):
        for k in range(_CONVERSATIONS_PER_USER):
            conversation_ids.append(uuid7())
            owners.append(user_id)
            updated.append(_T0 + timedelta(minutes=n * _CONVERSATIONS_PER_USER + k))
    await conn.execute(
        "INSERT INTO faceplate.conversations (id, user_id, updated_at)"
        " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[])",
        conversation_ids,
        owners,
        updated,
    )
    # Users, assistants and tools take turns; every assistant message has finished but a few.
    # Each conversation is one chain, but for a second answer to its first question (a branch).
    message_ids: list[UUID] = []
    in_conversation: list[UUID] = []
    parents: list[UUID | None] = []
    depths: list[int] = []
    roles: list[str] = []
    contents: list[str] = []
    finish: list[str | None] = []
    created: list[datetime] = []
    for conversation_id in conversation_ids[:_CONVERSATIONS_WITH_MESSAGES]:
        first = len(message_ids)
        for k in range(_MESSAGES_PER_CONVERSATION):
            role = ("user", "assistant", "tool")[k % 3]
            message_ids.append(uuid7())
            in_conversation.append(conversation_id)
            parents.append(message_ids[-2] if k else None)
            depths.append(k)
            roles.append(role)
            contents.append(" ".join(_WORDS[(len(created) + i) % len(_WORDS)] for i in range(5)))
            finish.append("stop" if role == "assistant" else None)
            created.append(_T0 + timedelta(seconds=len(created)))
        message_ids.append(uuid7())
        in_conversation.append(conversation_id)
        parents.append(message_ids[first])
        depths.append(1)
        roles.append("assistant")
        contents.append("another answer")
        finish.append("stop")
        created.append(_T0 + timedelta(seconds=len(created)))
    for n in range(_STREAMING):
        finish[1 + 3 * n * (_MESSAGES_PER_CONVERSATION + 1)] = None
    contents[len(contents) // 2] = "a rare word: zulu"
    await conn.execute(
        "INSERT INTO faceplate.messages (id, conversation_id, parent_id, depth, role, content,"
        " finish_reason, created_at)"
        " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int4[], $5::varchar[],"
        " $6::text[], $7::varchar[], $8::timestamptz[])",
        message_ids,
        in_conversation,
        parents,
        depths,
        roles,
        contents,
        finish,
        created,
    )
    # The active leaf: the end of the long branch.
    await conn.execute(
        "UPDATE faceplate.conversations AS c SET active_message_id = m.id"
        " FROM faceplate.messages AS m"
        " WHERE m.conversation_id = c.id AND m.depth = $1 - 1",
        _MESSAGES_PER_CONVERSATION,
    )
    await conn.execute(
        "INSERT INTO faceplate.token_usage (user_id, day, model, input_tokens, output_tokens)"
        " SELECT u.id, d.day::date, m.model, 100, 10"
        " FROM unnest($1::uuid[]) AS u (id),"
        " generate_series('2026-01-01'::date, '2026-02-28'::date, '1 day') AS d (day),"
        " (VALUES ('small'), ('large')) AS m (model)",
        users,
    )
    # One ended turn per conversation, a few still running (each on its own instance).
    await conn.execute(
        "INSERT INTO faceplate.turns (id, conversation_id, user_id, instance_id, status,"
        " started_at, ended_at, lease_expires_at)"
        " SELECT gen_random_uuid(), c.id, c.user_id, 'i-' || (row_number() OVER () % 7),"
        " 'completed', c.updated_at, c.updated_at, c.updated_at"
        " FROM faceplate.conversations AS c"
    )
    await conn.execute(
        "INSERT INTO faceplate.turns (id, conversation_id, user_id, instance_id,"
        " lease_expires_at)"
        " SELECT gen_random_uuid(), c.id, c.user_id, 'i-live-' || c.id::text,"
        " now() + interval '15 seconds'"
        " FROM unnest($1::uuid[]) AS u (id) JOIN faceplate.conversations AS c ON c.id = u.id",
        conversation_ids[1 :: len(conversation_ids) // 20],
    )
    await conn.execute(
        "ANALYZE faceplate.users, faceplate.conversations, faceplate.messages,"
        " faceplate.token_usage, faceplate.turns"
    )
    # Keysets in the middle of the first user's conversations and of its first conversation.
    mid_message, mid_conversation = _MESSAGES_PER_CONVERSATION // 2, _CONVERSATIONS_PER_USER // 2
    return Loaded(
        user_id=users[0],
        conversation_id=conversation_ids[0],
        message=(created[mid_message], message_ids[mid_message]),
        conversation=(updated[mid_conversation], conversation_ids[mid_conversation]),
        depth=mid_message,
        message_id=message_ids[mid_message],
    )


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _index_names(explained: list[dict[str, Any]]) -> set[str]:
    return {n["Index Name"] for n in _nodes(explained[0]["Plan"]) if "Index Name" in n}


@dataclass(frozen=True)
class Hot:
    query: str
    index: str
    args: Callable[[Loaded], tuple[object, ...]]


HOT: Final = [
    pytest.param(
        Hot(
            "list_conversations",
            "conversations_user_archived_updated_idx",
            lambda d: (d.user_id, False, None, None, 21),
        ),
        id="list_conversations-first-page",
    ),
    pytest.param(
        Hot(
            "list_conversations",
            "conversations_user_archived_updated_idx",
            lambda d: (d.user_id, False, *d.conversation, 21),
        ),
        id="list_conversations-next-page",
    ),
    pytest.param(
        Hot("list_messages", "messages_pkey", lambda d: (d.user_id, d.conversation_id, None, 51)),
        id="list_messages-first-page",
    ),
    pytest.param(
        Hot(
            "renew_turn_leases",
            "turns_instance_running_idx",
            lambda d: ("i-live-x", 15.0, [d.conversation_id]),
        ),
        id="renew_turn_leases",
    ),
    pytest.param(
        Hot("take_over_turns", "turns_lease_idx", lambda d: ("i-x", 15.0, 50)),
        id="take_over_turns",
    ),
    pytest.param(
        Hot("count_user_turns", "turns_user_started_idx", lambda d: (d.user_id, d.conversation_id)),
        id="count_user_turns",
    ),
    pytest.param(
        Hot("get_running_turn", "turns_one_running_idx", lambda d: (d.conversation_id,)),
        id="get_running_turn",
    ),
    pytest.param(
        Hot(
            "list_messages",
            "messages_pkey",
            lambda d: (d.user_id, d.conversation_id, d.depth, 51),
        ),
        id="list_messages-next-page",
    ),
    pytest.param(
        Hot(
            "list_messages",
            "messages_conversation_parent_idx",
            lambda d: (d.user_id, d.conversation_id, None, 51),
        ),
        id="list_messages-siblings",
    ),
    pytest.param(
        Hot("list_history", "messages_pkey", lambda d: (d.user_id, d.conversation_id, None)),
        id="list_history",
    ),
    pytest.param(
        Hot(
            "list_history", "messages_pkey", lambda d: (d.user_id, d.conversation_id, d.message_id)
        ),
        id="list_history-from-a-message",
    ),
    pytest.param(
        Hot(
            "get_answered_message",
            "messages_pkey",
            lambda d: (d.user_id, d.conversation_id, None),
        ),
        id="get_answered_message",
    ),
    pytest.param(
        Hot(
            "update_active_message",
            "messages_conversation_parent_idx",
            lambda d: (d.user_id, d.conversation_id, d.message_id),
        ),
        id="update_active_message",
    ),
    pytest.param(
        Hot(
            "search_conversations",
            "messages_search_idx",
            lambda d: (d.user_id, "zulu -alpha", False, None, None, 21),
        ),
        id="search_conversations",
    ),
    pytest.param(
        Hot(
            "list_token_usage",
            "token_usage_pkey",
            lambda d: (d.user_id, date(2026, 1, 10), date(2026, 1, 20)),
        ),
        id="list_token_usage",
    ),
    pytest.param(
        Hot("count_tokens_today", "token_usage_pkey", lambda d: (d.user_id,)),
        id="count_tokens_today",
    ),
]


async def _generic_plan(database_url: str, text: LiteralString) -> list[dict[str, Any]]:
    """The plan PostgreSQL may settle on for a cached statement, whatever its arguments.

    asyncpg binds parameters, which GENERIC_PLAN refuses; psycopg sends a query without
    parameters over the simple protocol, where $1… stay placeholders.
    """
    async with await psycopg.AsyncConnection.connect(database_url) as pconn:
        cursor = await pconn.execute(_EXPLAIN_GENERIC + text)
        row = await cursor.fetchone()
    assert row is not None
    plan: list[dict[str, Any]] = row[0]
    return plan


@pytest.mark.parametrize("hot", HOT)
async def test_plan_with_the_arguments_uses_the_index(db: Database, hot: Hot) -> None:
    async with db.connection() as conn:
        loaded = await _load(conn)
        explained = await conn.fetchval(_EXPLAIN + QUERIES[hot.query].text, *hot.args(loaded))
    assert hot.index in _index_names(explained)


@pytest.mark.parametrize("hot", HOT[::2])
async def test_generic_plan_uses_the_index(db: Database, database_url: str, hot: Hot) -> None:
    async with db.connection() as conn:
        await _load(conn)
    explained = await _generic_plan(database_url, QUERIES[hot.query].text)
    assert hot.index in _index_names(explained)


@pytest.mark.parametrize(
    ("query", "index"), [("list_conversations", "conversations_user_archived_updated_idx")]
)
async def test_generic_plan_seeks_to_the_keyset(
    db: Database, database_url: str, query: str, index: str
) -> None:
    async with db.connection() as conn:
        await _load(conn)
    explained = await _generic_plan(database_url, QUERIES[query].text)
    (scan,) = (n for n in _nodes(explained[0]["Plan"]) if n.get("Index Name") == index)
    assert "ROW(" in scan["Index Cond"]


def _scans_of(explained: list[dict[str, Any]], relation: str) -> list[dict[str, Any]]:
    return [n for n in _nodes(explained[0]["Plan"]) if n.get("Relation Name") == relation]


@pytest.mark.parametrize("query", ["list_messages", "list_history", "get_answered_message"])
async def test_the_walk_up_a_branch_reads_no_message_it_does_not_need(
    db: Database, database_url: str, query: str
) -> None:
    async with db.connection() as conn:
        await _load(conn)
    explained = await _generic_plan(database_url, QUERIES[query].text)
    (walk,) = (n for n in _nodes(explained[0]["Plan"]) if n["Node Type"] == "Recursive Union")
    scans = [n for n in _nodes(walk) if n.get("Relation Name") == "messages"]
    assert scans and all(n.get("Index Name") == "messages_pkey" for n in scans)
    assert not [n for n in _scans_of(explained, "messages") if n["Node Type"] == "Seq Scan"]


async def _executed_generic_plan(
    database_url: str, text: LiteralString, args: tuple[object, ...]
) -> dict[str, Any]:
    """EXPLAIN ANALYZE of the statement prepared and run on its generic plan, as a cached
    statement of a client that runs it often (asyncpg's) ends up on."""
    async with await psycopg.AsyncConnection.connect(
        database_url, cursor_factory=psycopg.AsyncClientCursor
    ) as pconn:
        await pconn.execute("SET plan_cache_mode = force_generic_plan")
        await pconn.execute("PREPARE hot AS " + text.rstrip().rstrip(";"))
        placeholders = ", ".join(["%s"] * len(args))
        cursor = await pconn.execute(
            f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE hot ({placeholders})",  # type: ignore[arg-type]
            args,
        )
        row = await cursor.fetchone()
    assert row is not None
    plan: dict[str, Any] = row[0][0]["Plan"]
    return plan


@pytest.mark.parametrize(
    ("query", "args"),
    [
        ("list_messages", lambda d: (d.user_id, d.conversation_id, None, 51)),
        ("list_messages", lambda d: (d.user_id, d.conversation_id, d.depth, 51)),
        ("list_history", lambda d: (d.user_id, d.conversation_id, None)),
    ],
    ids=["list_messages-first-page", "list_messages-next-page", "list_history"],
)
async def test_generic_plan_checks_ownership_once(
    db: Database,
    database_url: str,
    query: str,
    args: Callable[[Loaded], tuple[object, ...]],
) -> None:
    """On the plan a cached statement settles on, the conversation is read once per statement,
    never again for each message row (a join on the inner side of a nested loop did that)."""
    async with db.connection() as conn:
        loaded = await _load(conn)
    plan = await _executed_generic_plan(database_url, QUERIES[query].text, args(loaded))

    scans = [n for n in _nodes(plan) if n.get("Relation Name") == "conversations"]
    assert len(scans) == 1
    assert scans[0]["Actual Loops"] == 1
    assert plan["Actual Rows"] > 0
