from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from uuid import UUID

import pytest
from uuid6 import uuid7

from faceplate.db import Conn, Database
from faceplate.queries import oauth as q
from faceplate.queries.mcp_configs import create_mcp_config
from faceplate.sql import QUERIES
from faceplate.structs import HttpConfig, OAuthServer
from tests.sql.factories import make_user
from tests.sql.test_plans import _EXPLAIN, _index_names

SERVER: Final = OAuthServer(
    issuer="https://auth.example.com",
    authorization_endpoint="https://auth.example.com/authorize",
    token_endpoint="https://auth.example.com/token",
    resource="https://mcp.example.com/mcp",
    scopes=["read"],
)
REDIRECT: Final = "https://faceplate.example.com/oauth/callback"


async def _config(conn: Conn, name: str = "ada") -> tuple[UUID, UUID]:
    user = await make_user(conn, name)
    row = await create_mcp_config(
        conn,
        id=uuid7(),
        user_id=user.id,
        name="tracker",
        config=HttpConfig(url=SERVER.resource),
        enabled=True,
        max_configs=50,
        tool_approval="never",
        tool_policies={},
    )
    assert row is not None
    return user.id, row.id


async def _connected(conn: Conn, user_id: UUID, config_id: UUID, token: str = "sealed") -> int:
    return await q.store_oauth_tokens(
        conn,
        user_id=user_id,
        config_id=config_id,
        server=SERVER,
        scopes=["read"],
        client_id="client",
        client_secret=None,
        client_auth="none",
        access_token=token,
        refresh_token="sealed-refresh",
        expires_in_s=3600.0,
    )


async def _state(
    conn: Conn, user_id: UUID, config_id: UUID, state: bytes, lifetime_s: float
) -> None:
    await q.create_oauth_state(
        conn,
        state_hash=hashlib.sha256(state).digest(),
        user_id=user_id,
        config_id=config_id,
        code_verifier="sealed-verifier",
        redirect_uri=REDIRECT,
        server=SERVER,
        scopes=["read"],
        client_id="client",
        client_secret=None,
        client_auth="none",
        lifetime_s=lifetime_s,
    )


async def test_a_grant_is_stored_read_back_and_counted_once(db: Database) -> None:
    async with db.connection() as conn:
        user_id, config_id = await _config(conn)
        assert await _connected(conn, user_id, config_id) == 1
        assert await _connected(conn, user_id, config_id, token="again") == 1
        row = await q.get_mcp_oauth(conn, user_id=user_id, config_id=config_id)

    assert row is not None
    assert (row.status, row.server, row.scopes, row.access_token) == (
        "connected",
        SERVER,
        ["read"],
        "again",
    )
    assert row.expires_at is not None and row.issued_at is not None
    assert timedelta(seconds=3599) < row.expires_at - row.issued_at <= timedelta(seconds=3600)


async def test_tokens_are_not_stored_for_another_users_config(db: Database) -> None:
    async with db.connection() as conn:
        _, config_id = await _config(conn)
        stranger, _ = await _config(conn, "eve")
        assert await _connected(conn, stranger, config_id) == 0
        assert await q.get_mcp_oauth(conn, user_id=stranger, config_id=config_id) is None


async def test_a_connected_grant_is_demoted_only_from_the_version_seen(db: Database) -> None:
    async with db.connection() as conn:
        user_id, config_id = await _config(conn)
        await _connected(conn, user_id, config_id)
        seen = await q.get_mcp_oauth(conn, user_id=user_id, config_id=config_id)
        assert seen is not None
        await _connected(conn, user_id, config_id, token="newer")

        stale = await q.mark_oauth_needed(
            conn, config_id=config_id, server=None, scopes=[], seen_updated_at=seen.updated_at
        )
        current = await q.get_mcp_oauth(conn, user_id=user_id, config_id=config_id)
        assert current is not None
        fresh = await q.mark_oauth_needed(
            conn, config_id=config_id, server=None, scopes=[], seen_updated_at=current.updated_at
        )
        after = await q.get_mcp_oauth(conn, user_id=user_id, config_id=config_id)

    assert (stale, fresh) == (0, 1)
    assert after is not None
    assert (after.status, after.access_token, after.refresh_token) == (
        "needs_authorization",
        None,
        None,
    )
    assert after.server == SERVER and after.scopes == ["read"]


async def test_a_state_is_taken_back_once_and_expired_ones_are_swept(db: Database) -> None:
    async with db.connection() as conn:
        user_id, config_id = await _config(conn)
        await _state(conn, user_id, config_id, b"old", lifetime_s=1e-6)
        await _state(conn, user_id, config_id, b"live", lifetime_s=600)
        await _state(conn, user_id, config_id, b"other", lifetime_s=600)  # sweeps "old"
        old = await q.consume_oauth_state(conn, state_hash=hashlib.sha256(b"old").digest())
        live = await q.consume_oauth_state(conn, state_hash=hashlib.sha256(b"live").digest())
        again = await q.consume_oauth_state(conn, state_hash=hashlib.sha256(b"live").digest())

    assert old is None and again is None
    assert live is not None and live.expired is False
    assert (live.user_id, live.config_id, live.server, live.client_id) == (
        user_id,
        config_id,
        SERVER,
        "client",
    )


async def test_forgetting_takes_the_grant_and_the_pending_states(db: Database) -> None:
    async with db.connection() as conn:
        user_id, config_id = await _config(conn)
        await _connected(conn, user_id, config_id)
        await _state(conn, user_id, config_id, b"pending", lifetime_s=600)
        gone = await q.delete_mcp_oauth(conn, user_id=user_id, config_id=config_id)
        pending = await q.consume_oauth_state(conn, state_hash=hashlib.sha256(b"pending").digest())
        statuses = await q.list_oauth_statuses(conn, user_id=user_id, config_ids=[config_id])

    assert gone is not None and gone.access_token == "sealed"
    assert pending is None and statuses == []


async def test_a_registration_is_kept_unless_it_expired(db: Database) -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    async with db.connection() as conn:
        first = await q.save_oauth_client(
            conn,
            issuer=SERVER.issuer,
            redirect_uri=REDIRECT,
            client_id="first",
            client_secret="sealed",
            auth_method="client_secret_basic",
            secret_expires_at=past,
        )
        replaced = await q.save_oauth_client(
            conn,
            issuer=SERVER.issuer,
            redirect_uri=REDIRECT,
            client_id="second",
            client_secret=None,
            auth_method="none",
            secret_expires_at=None,
        )
        kept = await q.save_oauth_client(
            conn,
            issuer=SERVER.issuer,
            redirect_uri=REDIRECT,
            client_id="third",
            client_secret=None,
            auth_method="none",
            secret_expires_at=None,
        )
        stored = await q.get_oauth_client(conn, issuer=SERVER.issuer, redirect_uri=REDIRECT)

    assert first is not None and first.client_id == "first"
    assert replaced is not None and replaced.client_id == "second"
    assert kept is None
    assert stored is not None and stored.client_id == "second"


async def _load(conn: Conn) -> tuple[UUID, list[UUID]]:
    """Thousands of users with OAuth configs and pending states, then ANALYZE."""
    users = [uuid7() for _ in range(2000)]
    configs = [uuid7() for _ in users]
    await conn.execute(
        "INSERT INTO faceplate.users (id, email, subject_id)"
        " SELECT u.id, u.id::text || '@example.com', 'sub-' || u.id::text"
        " FROM unnest($1::uuid[]) AS u (id)",
        users,
    )
    await conn.execute(
        "INSERT INTO faceplate.mcp_configs (id, user_id, name, config)"
        " SELECT c.id, c.user_id, 'tracker', '{}'::jsonb"
        " FROM unnest($1::uuid[], $2::uuid[]) AS c (id, user_id)",
        configs,
        users,
    )
    await conn.execute(
        "INSERT INTO faceplate.mcp_oauth (config_id, status, access_token)"
        " SELECT c.id, 'connected', 'sealed' FROM unnest($1::uuid[]) AS c (id)",
        configs,
    )
    await conn.execute(
        "INSERT INTO faceplate.oauth_states (state_hash, user_id, config_id, code_verifier,"
        " redirect_uri, server, scopes, client_id, client_auth, expires_at)"
        " SELECT sha256(c.id::text::bytea), c.user_id, c.id, 'v', 'r', '{}'::jsonb, '{}',"
        " 'client', 'none', now() + interval '10 minutes'"
        " FROM unnest($1::uuid[], $2::uuid[]) AS c (id, user_id)",
        configs,
        users,
    )
    await conn.execute("ANALYZE faceplate.mcp_oauth, faceplate.oauth_states, faceplate.mcp_configs")
    return users[0], configs[:1]


_PLANS: Final[list[tuple[str, str, Any]]] = [
    ("get_mcp_oauth", "mcp_oauth_pkey", lambda u, c: (u, c[0])),
    ("lock_mcp_oauth", "mcp_oauth_pkey", lambda u, c: (u, c[0])),
    ("list_oauth_statuses", "mcp_oauth_pkey", lambda u, c: (u, c)),
    ("consume_oauth_state", "oauth_states_pkey", lambda u, c: (b"\x00" * 32,)),
    ("get_oauth_client", "oauth_clients_pkey", lambda u, c: ("https://a", "https://b")),
]


@pytest.mark.parametrize(("query", "index", "args"), _PLANS, ids=[p[0] for p in _PLANS])
async def test_oauth_lookups_use_their_key(db: Database, query: str, index: str, args: Any) -> None:
    async with db.connection() as conn:
        user_id, config_ids = await _load(conn)
        explained = await conn.fetchval(_EXPLAIN + QUERIES[query].text, *args(user_id, config_ids))
    assert index in _index_names(explained)
