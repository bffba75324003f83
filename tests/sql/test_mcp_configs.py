from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from uuid6 import uuid7

from faceplate.db import Conn, Database
from faceplate.errors import Conflict
from faceplate.queries.mcp_configs import (
    create_mcp_config,
    delete_mcp_config,
    get_mcp_config,
    list_enabled_mcp_configs,
    list_mcp_configs,
    list_sealed_mcp_configs,
    update_mcp_config,
    update_mcp_config_secrets,
)
from faceplate.queries.users import lock_user
from faceplate.structs import HttpConfig, McpConfig, McpServerConfig, SseConfig, StdioConfig
from tests.sql.factories import make_user

HTTP = HttpConfig(url="https://tools.example.com/mcp", headers={"Authorization": "gAAAA-sealed"})
SSE = SseConfig(url="http://localhost:8931/sse")
STDIO = StdioConfig(command="uvx", args=["mcp-server-time", "--tz=Europe/Berlin"], env={"K": "v"})

LONG_AGO = datetime(2001, 1, 1, tzinfo=UTC)

NO_POLICIES: dict[str, Any] = {"tool_approval": "never", "tool_policies": {}}


async def _create(
    conn: Conn,
    user_id: UUID,
    name: str,
    config: McpServerConfig = SSE,
    *,
    enabled: bool = True,
) -> McpConfig:
    created = await create_mcp_config(
        conn,
        id=uuid7(),
        user_id=user_id,
        name=name,
        config=config,
        enabled=enabled,
        max_configs=50,
        tool_approval="never",
        tool_policies={},
    )
    assert created is not None
    return created


@pytest.mark.parametrize("config", [HTTP, SSE, STDIO], ids=["http", "sse", "stdio"])
async def test_config_round_trips_with_its_transport_tag(
    db: Database, config: McpServerConfig
) -> None:
    config_id = uuid7()
    async with db.connection() as conn:
        user = await make_user(conn)
        created = await create_mcp_config(
            conn,
            id=config_id,
            user_id=user.id,
            name="tools",
            config=config,
            enabled=True,
            max_configs=1,
            tool_approval="never",
            tool_policies={},
        )
        assert created is not None
        got = await get_mcp_config(conn, user_id=user.id, config_id=config_id)
        stored = await conn.fetchval(
            "SELECT mc.config FROM faceplate.mcp_configs AS mc WHERE mc.id = $1", config_id
        )
    assert (created.id, created.name, created.config, created.enabled) == (
        config_id,
        "tools",
        config,
        True,
    )
    assert got == created
    assert stored["transport"] == config.__struct_config__.tag


async def test_create_disabled(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        created = await _create(conn, user.id, "off", enabled=False)
        got = await get_mcp_config(conn, user_id=user.id, config_id=created.id)
    assert got is not None
    assert got.enabled is False


async def test_duplicate_name_for_the_same_user_conflicts(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        await _create(conn, user.id, "tools")
        with pytest.raises(Conflict):
            await _create(conn, user.id, "tools", STDIO)
        rows = await list_mcp_configs(conn, user_id=user.id, after_name=None, limit=10)
    assert [(r.name, r.config) for r in rows] == [("tools", SSE)]


async def test_same_name_for_another_user_is_fine(db: Database) -> None:
    async with db.connection() as conn:
        ada, eve = await make_user(conn, "ada"), await make_user(conn, "eve")
        mine = await _create(conn, ada.id, "tools")
        theirs = await _create(conn, eve.id, "tools")
    assert mine.id != theirs.id


async def test_rename_onto_a_taken_name_conflicts(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        await _create(conn, user.id, "alpha")
        beta = await _create(conn, user.id, "beta")
        with pytest.raises(Conflict):
            await update_mcp_config(
                conn,
                user_id=user.id,
                config_id=beta.id,
                name="alpha",
                config=SSE,
                enabled=True,
                **NO_POLICIES,
            )
        assert await get_mcp_config(conn, user_id=user.id, config_id=beta.id) == beta


async def test_update_replaces_name_config_and_enabled(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        created = await _create(conn, user.id, "tools", SSE)
        await conn.execute(
            "UPDATE faceplate.mcp_configs SET updated_at = $2 WHERE id = $1", created.id, LONG_AGO
        )
        updated = await update_mcp_config(
            conn,
            user_id=user.id,
            config_id=created.id,
            name="local",
            config=STDIO,
            enabled=False,
            **NO_POLICIES,
        )
        got = await get_mcp_config(conn, user_id=user.id, config_id=created.id)
    assert updated is not None
    assert (updated.name, updated.config, updated.enabled) == ("local", STDIO, False)
    assert updated.created_at == created.created_at
    assert updated.updated_at > LONG_AGO
    assert got == updated


async def test_keeping_its_own_name_is_not_a_conflict(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        created = await _create(conn, user.id, "tools", SSE)
        updated = await update_mcp_config(
            conn,
            user_id=user.id,
            config_id=created.id,
            name="tools",
            config=HTTP,
            enabled=True,
            **NO_POLICIES,
        )
    assert updated is not None
    assert updated.config == HTTP


async def test_another_user_cannot_get_it(db: Database) -> None:
    async with db.connection() as conn:
        owner, other = await make_user(conn, "ada"), await make_user(conn, "eve")
        created = await _create(conn, owner.id, "tools")
        assert await get_mcp_config(conn, user_id=other.id, config_id=created.id) is None


async def test_another_user_cannot_update_it(db: Database) -> None:
    async with db.connection() as conn:
        owner, other = await make_user(conn, "ada"), await make_user(conn, "eve")
        created = await _create(conn, owner.id, "tools")
        updated = await update_mcp_config(
            conn,
            user_id=other.id,
            config_id=created.id,
            name="evil",
            config=STDIO,
            enabled=False,
            **NO_POLICIES,
        )
        after = await get_mcp_config(conn, user_id=owner.id, config_id=created.id)
    assert updated is None
    assert after == created


async def test_another_user_cannot_delete_it(db: Database) -> None:
    async with db.connection() as conn:
        owner, other = await make_user(conn, "ada"), await make_user(conn, "eve")
        created = await _create(conn, owner.id, "tools")
        deleted = await delete_mcp_config(conn, user_id=other.id, config_id=created.id)
        after = await get_mcp_config(conn, user_id=owner.id, config_id=created.id)
    assert deleted == 0
    assert after == created


async def test_delete_removes_it(db: Database) -> None:
    async with db.connection() as conn:
        user = await make_user(conn)
        created = await _create(conn, user.id, "tools")
        deleted = await delete_mcp_config(conn, user_id=user.id, config_id=created.id)
        after = await get_mcp_config(conn, user_id=user.id, config_id=created.id)
    assert deleted == 1
    assert after is None


async def test_list_pages_by_name_with_the_name_as_keyset(db: Database) -> None:
    names = [f"server-{n:02d}" for n in (7, 3, 11, 1, 5, 9, 2)]
    async with db.connection() as conn:
        user, other = await make_user(conn, "ada"), await make_user(conn, "eve")
        for name in names:
            await _create(conn, user.id, name)
        await _create(conn, other.id, "server-04")
        pages: list[list[str]] = []
        after: str | None = None
        while True:
            rows = await list_mcp_configs(conn, user_id=user.id, after_name=after, limit=4)
            pages.append([r.name for r in rows[:3]])
            if len(rows) <= 3:
                break
            after = rows[2].name
    assert pages == [
        ["server-01", "server-02", "server-03"],
        ["server-05", "server-07", "server-09"],
        ["server-11"],
    ]


async def test_list_enabled_returns_only_enabled_configs_by_name(db: Database) -> None:
    async with db.connection() as conn:
        user, other = await make_user(conn, "ada"), await make_user(conn, "eve")
        await _create(conn, user.id, "zeta", HTTP, enabled=True)
        await _create(conn, user.id, "beta", SSE, enabled=False)
        await _create(conn, user.id, "alpha", STDIO, enabled=True)
        await _create(conn, other.id, "gamma", SSE, enabled=True)
        rows = await list_enabled_mcp_configs(conn, user_id=user.id)
    assert [(r.name, r.config) for r in rows] == [("alpha", STDIO), ("zeta", HTTP)]


# --- at most max_configs per user, counted under the user's lock ------------------------------


async def _create_limited(conn: Conn, user_id: UUID, name: str, limit: int) -> McpConfig | None:
    return await create_mcp_config(
        conn,
        id=uuid7(),
        user_id=user_id,
        name=name,
        config=SSE,
        enabled=True,
        max_configs=limit,
        **NO_POLICIES,
    )


async def test_no_config_is_created_past_max_configs(db: Database) -> None:
    async with db.connection() as conn:
        user, other = await make_user(conn, "ada"), await make_user(conn, "eve")
        assert await _create_limited(conn, user.id, "one", 2) is not None
        assert await _create_limited(conn, user.id, "two", 2) is not None
        assert await _create_limited(conn, user.id, "three", 2) is None
        assert await _create_limited(conn, other.id, "one", 2) is not None  # per user
        count = await conn.fetchval(
            "SELECT count(*) FROM faceplate.mcp_configs AS mc WHERE mc.user_id = $1", user.id
        )
    assert count == 2


async def test_a_create_waiting_for_the_user_lock_counts_what_the_holder_committed(
    db: Database,
) -> None:
    """Two instances each creating the last allowed config: the second waits for the first's
    lock, then its own statement sees the first's row and creates nothing."""
    async with db.connection() as setup:
        user = await make_user(setup)
        await _create_limited(setup, user.id, "old", 2)
    first = await db.acquire()
    second = await db.acquire()
    try:
        holder = first.transaction()
        await holder.start()
        assert await lock_user(first, user_id=user.id)
        assert await _create_limited(first, user.id, "a", 2) is not None

        async def contend() -> McpConfig | None:
            async with second.transaction():
                await lock_user(second, user_id=user.id)
                return await _create_limited(second, user.id, "b", 2)

        waiting = asyncio.create_task(contend())
        await asyncio.sleep(0.2)
        assert not waiting.done()  # held by the first's lock
        await holder.commit()
        assert await asyncio.wait_for(waiting, 10) is None
    finally:
        await db.release(first)
        await db.release(second)


async def test_lock_user_of_nobody_is_false(db: Database) -> None:
    async with db.connection() as conn, conn.transaction():
        assert await lock_user(conn, user_id=uuid7()) is False


# --- key rotation reads every config and writes back only what did not change ------------------


async def test_sealed_configs_are_listed_by_id_across_users(db: Database) -> None:
    async with db.connection() as conn:
        ada, eve = await make_user(conn, "ada"), await make_user(conn, "eve")
        made = [await _create(conn, ada.id, "a", HTTP), await _create(conn, eve.id, "b", STDIO)]
        first = await list_sealed_mcp_configs(conn, after_id=None, limit=1)
        rest = await list_sealed_mcp_configs(conn, after_id=first[0].id, limit=10)
    assert [(r.id, r.config) for r in first + rest] == sorted(
        [(m.id, m.config) for m in made], key=lambda pair: pair[0]
    )


async def test_secrets_are_written_back_only_if_the_config_is_as_read(db: Database) -> None:
    resealed = HttpConfig(url=HTTP.url, headers={"Authorization": "gAAAA-resealed"})
    async with db.connection() as conn:
        user = await make_user(conn)
        row = await _create(conn, user.id, "a", HTTP)
        assert (
            await update_mcp_config_secrets(conn, config_id=row.id, read_config=SSE, config=SSE)
            == 0
        )
        written = await update_mcp_config_secrets(
            conn, config_id=row.id, read_config=HTTP, config=resealed
        )
        got = await get_mcp_config(conn, user_id=user.id, config_id=row.id)
    assert written == 1
    assert got is not None and got.config == resealed
    assert got.updated_at == row.updated_at
