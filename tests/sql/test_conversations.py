from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from uuid6 import uuid7

from faceplate.db import Conn, Database
from faceplate.queries.conversations import (
    create_conversation,
    delete_conversation,
    get_conversation,
    list_conversations,
    update_conversation,
)
from faceplate.structs import Conversation
from tests.sql.factories import make_conversation, make_message, make_user

LONG_AGO = datetime(2001, 1, 1, tzinfo=UTC)


async def _set_updated_at(conn: Conn, conversation_id: UUID, at: datetime) -> None:
    await conn.execute(
        "UPDATE faceplate.conversations SET updated_at = $2 WHERE id = $1", conversation_id, at
    )


async def update_conversation_title(
    conn: Conn, *, user_id: UUID, conversation_id: UUID, title: str | None
) -> Conversation | None:
    return await update_conversation(
        conn,
        user_id=user_id,
        conversation_id=conversation_id,
        set_title=True,
        title=title,
        set_model=False,
        model=None,
        archived=None,
    )


async def _all_pages(conn: Conn, user_id: UUID, page_size: int) -> list[list[Conversation]]:
    """Follows the keyset the way a route does: ask for one more row to learn of a next page."""
    pages: list[list[Conversation]] = []
    after: Conversation | None = None
    while True:
        rows = await list_conversations(
            conn,
            user_id=user_id,
            after_updated_at=None if after is None else after.updated_at,
            after_id=None if after is None else after.id,
            limit=page_size + 1,
        )
        pages.append(rows[:page_size])
        if len(rows) <= page_size:
            return pages
        after = rows[page_size - 1]


async def test_create_then_get_for_the_owner(db: Database) -> None:
    conversation_id = uuid7()
    async with db.connection() as conn:
        user = await make_user(conn)
        created = await create_conversation(conn, id=conversation_id, user_id=user.id, title="Hi")
        got = await get_conversation(conn, user_id=user.id, conversation_id=conversation_id)
    assert (created.id, created.title) == (conversation_id, "Hi")
    assert created.updated_at == created.created_at
    assert got == created


async def test_create_without_a_title_stores_null(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        created = await make_conversation(conn, user.id)
        got = await get_conversation(conn, user_id=user.id, conversation_id=created.id)
    assert got is not None
    assert got.title is None


async def test_another_user_cannot_get_it(db: Database) -> None:
    async with db.connection() as conn:
        owner, other = await make_user(conn, "ada"), await make_user(conn, "eve")
        conversation = await make_conversation(conn, owner.id, "Mine")
        got = await get_conversation(conn, user_id=other.id, conversation_id=conversation.id)
    assert got is None


async def test_another_user_cannot_rename_it(db: Database) -> None:
    async with db.connection() as conn:
        owner, other = await make_user(conn, "ada"), await make_user(conn, "eve")
        conversation = await make_conversation(conn, owner.id, "Mine")
        renamed = await update_conversation_title(
            conn, user_id=other.id, conversation_id=conversation.id, title="Theirs"
        )
        after = await get_conversation(conn, user_id=owner.id, conversation_id=conversation.id)
    assert renamed is None
    assert after == conversation


async def test_another_user_cannot_delete_it(db: Database) -> None:
    async with db.connection() as conn:
        owner, other = await make_user(conn, "ada"), await make_user(conn, "eve")
        conversation = await make_conversation(conn, owner.id, "Mine")
        deleted = await delete_conversation(conn, user_id=other.id, conversation_id=conversation.id)
        after = await get_conversation(conn, user_id=owner.id, conversation_id=conversation.id)
    assert deleted == 0
    assert after == conversation


async def test_rename_sets_the_title_and_moves_updated_at(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id, "Old")
        await _set_updated_at(conn, conversation.id, LONG_AGO)
        renamed = await update_conversation_title(
            conn, user_id=user.id, conversation_id=conversation.id, title="New"
        )
        after = await get_conversation(conn, user_id=user.id, conversation_id=conversation.id)
    assert renamed is not None
    assert renamed.title == "New"
    assert renamed.updated_at > LONG_AGO
    assert renamed.created_at == conversation.created_at
    assert after == renamed


async def test_rename_to_null_clears_the_title(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id, "Old")
        renamed = await update_conversation_title(
            conn, user_id=user.id, conversation_id=conversation.id, title=None
        )
    assert renamed is not None
    assert renamed.title is None


async def test_delete_removes_it_and_its_messages(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        conversation = await make_conversation(conn, user.id)
        kept = await make_conversation(conn, user.id)
        for _ in range(3):
            await make_message(conn, user.id, conversation.id)
        await make_message(conn, user.id, kept.id)
        deleted = await delete_conversation(conn, user_id=user.id, conversation_id=conversation.id)
        gone = await get_conversation(conn, user_id=user.id, conversation_id=conversation.id)
        orphans = await conn.fetchval(
            "SELECT count(*) FROM faceplate.messages WHERE conversation_id = $1", conversation.id
        )
        others = await conn.fetchval(
            "SELECT count(*) FROM faceplate.messages WHERE conversation_id = $1", kept.id
        )
    assert deleted == 1
    assert gone is None
    assert orphans == 0
    assert others == 1


async def test_list_shows_only_the_users_conversations(db: Database) -> None:
    async with db.connection() as conn:
        owner, other = await make_user(conn, "ada"), await make_user(conn, "eve")
        mine = {(await make_conversation(conn, owner.id)).id for _ in range(2)}
        for _ in range(3):
            await make_conversation(conn, other.id)
        rows = await list_conversations(
            conn, user_id=owner.id, after_updated_at=None, after_id=None, limit=10
        )
    assert {r.id for r in rows} == mine


async def test_list_is_most_recently_updated_first(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        first, second, third = [await make_conversation(conn, user.id) for _ in range(3)]
        await make_message(conn, user.id, first.id)  # a new message moves it up
        rows = await list_conversations(
            conn, user_id=user.id, after_updated_at=None, after_id=None, limit=10
        )
    assert [r.id for r in rows] == [first.id, third.id, second.id]


async def test_keyset_pages_cover_equal_updated_at_exactly_once(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        ids = [(await make_conversation(conn, user.id)).id for _ in range(23)]
        await conn.execute(
            "UPDATE faceplate.conversations SET updated_at = $2 WHERE user_id = $1",
            user.id,
            LONG_AGO,
        )
        pages = await _all_pages(conn, user.id, page_size=5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    listed = [c.id for page in pages for c in page]
    # PostgreSQL orders uuid bytewise, as Python orders UUIDs: ties are broken by id desc.
    assert listed == sorted(ids, reverse=True)


async def test_keyset_pages_follow_updated_at_then_id(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        ids = [(await make_conversation(conn, user.id)).id for _ in range(12)]
        # Three groups of four rows sharing an updated_at, so pages cut through the ties.
        for n, conversation_id in enumerate(ids):
            at = LONG_AGO.replace(year=2001 + n % 3)
            await _set_updated_at(conn, conversation_id, at)
        pages = await _all_pages(conn, user.id, page_size=5)
        stored = await list_conversations(
            conn, user_id=user.id, after_updated_at=None, after_id=None, limit=100
        )
    listed = [(c.updated_at, c.id) for page in pages for c in page]
    assert listed == sorted(((c.updated_at, c.id) for c in stored), reverse=True)
    assert len(set(listed)) == len(ids)


async def test_empty_list_is_one_empty_page(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        assert await _all_pages(conn, user.id, page_size=5) == [[]]
