from __future__ import annotations

import pytest
from uuid6 import uuid7

from faceplate.db import Database
from faceplate.errors import Conflict
from faceplate.queries.users import get_user_by_subject, upsert_user


async def test_upsert_creates_the_user(db: Database) -> None:
    user_id = uuid7()
    async with db.connection() as conn:
        user = await upsert_user(conn, id=user_id, subject_id="sub-ada", email="ada@example.com")
        stored = await get_user_by_subject(conn, subject_id="sub-ada")
    assert (user.id, user.subject_id, user.email) == (user_id, "sub-ada", "ada@example.com")
    assert stored == user


async def test_upsert_of_a_known_subject_updates_the_email_only(db: Database) -> None:
    async with db.connection() as conn:
        first = await upsert_user(conn, id=uuid7(), subject_id="sub-ada", email="ada@example.com")
        second = await upsert_user(conn, id=uuid7(), subject_id="sub-ada", email="ada@new.example")
        stored = await get_user_by_subject(conn, subject_id="sub-ada")
    assert second.email == "ada@new.example"
    assert (second.id, second.created_at, second.subject_id) == (
        first.id,
        first.created_at,
        first.subject_id,
    )
    assert stored == second


async def test_upsert_of_a_known_subject_with_the_same_email_returns_it_unchanged(
    db: Database,
) -> None:
    async with db.connection() as conn:
        first = await upsert_user(conn, id=uuid7(), subject_id="sub-ada", email="ada@example.com")
        again = await upsert_user(conn, id=uuid7(), subject_id="sub-ada", email="ada@example.com")
    assert again == first


async def test_new_subject_with_an_email_of_another_subject_conflicts(db: Database) -> None:
    async with db.connection() as conn:
        await upsert_user(conn, id=uuid7(), subject_id="sub-ada", email="ada@example.com")
        with pytest.raises(Conflict):
            await upsert_user(conn, id=uuid7(), subject_id="sub-eve", email="ada@example.com")
        assert await get_user_by_subject(conn, subject_id="sub-eve") is None


async def test_known_subject_moving_to_an_email_of_another_subject_conflicts(
    db: Database,
) -> None:
    async with db.connection() as conn:
        await upsert_user(conn, id=uuid7(), subject_id="sub-ada", email="ada@example.com")
        bob = await upsert_user(conn, id=uuid7(), subject_id="sub-bob", email="bob@example.com")
        with pytest.raises(Conflict):
            await upsert_user(conn, id=uuid7(), subject_id="sub-bob", email="ada@example.com")
        assert await get_user_by_subject(conn, subject_id="sub-bob") == bob


async def test_get_user_by_subject_finds_the_user(db: Database) -> None:
    async with db.connection() as conn:
        user = await upsert_user(conn, id=uuid7(), subject_id="sub-ada", email="ada@example.com")
        await upsert_user(conn, id=uuid7(), subject_id="sub-bob", email="bob@example.com")
        assert await get_user_by_subject(conn, subject_id="sub-ada") == user


async def test_unknown_user_is_none(db: Database) -> None:
    async with db.connection() as conn:
        await upsert_user(conn, id=uuid7(), subject_id="sub-ada", email="ada@example.com")
        assert await get_user_by_subject(conn, subject_id="sub-nobody") is None
