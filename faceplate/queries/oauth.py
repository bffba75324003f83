"""Queries of sql/oauth/: registered clients, pending authorizations, each config's grant."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final
from uuid import UUID

import msgspec

from faceplate.db import Conn, rowcount
from faceplate.sql import QUERIES
from faceplate.structs import (
    ClientAuth,
    OAuthGrant,
    OAuthPending,
    OAuthServer,
    OAuthStatusRow,
    RegisteredClient,
    TokenTimes,
)

_GET_CLIENT: Final = QUERIES["get_oauth_client"].text
_SAVE_CLIENT: Final = QUERIES["save_oauth_client"].text
_DELETE_CLIENT: Final = QUERIES["delete_oauth_client"].text
_CREATE_STATE: Final = QUERIES["create_oauth_state"].text
_CONSUME_STATE: Final = QUERIES["consume_oauth_state"].text
_GET: Final = QUERIES["get_mcp_oauth"].text
_LOCK: Final = QUERIES["lock_mcp_oauth"].text
_STORE: Final = QUERIES["store_oauth_tokens"].text
_UPDATE_TOKENS: Final = QUERIES["update_oauth_tokens"].text
_MARK_NEEDED: Final = QUERIES["mark_oauth_needed"].text
_DELETE: Final = QUERIES["delete_mcp_oauth"].text
_STATUSES: Final = QUERIES["list_oauth_statuses"].text


async def get_oauth_client(
    conn: Conn, *, issuer: str, redirect_uri: str
) -> RegisteredClient | None:
    """sql/oauth/get_oauth_client.sql"""
    row = await conn.fetchrow(_GET_CLIENT, issuer, redirect_uri)
    return None if row is None else msgspec.convert(dict(row), RegisteredClient)


async def save_oauth_client(
    conn: Conn,
    *,
    issuer: str,
    redirect_uri: str,
    client_id: str,
    client_secret: str | None,
    auth_method: ClientAuth,
    secret_expires_at: datetime | None,
) -> RegisteredClient | None:
    """sql/oauth/save_oauth_client.sql; None when a live registration was there first."""
    row = await conn.fetchrow(
        _SAVE_CLIENT, issuer, redirect_uri, client_id, client_secret, auth_method, secret_expires_at
    )
    return None if row is None else msgspec.convert(dict(row), RegisteredClient)


async def delete_oauth_client(conn: Conn, *, issuer: str, redirect_uri: str, client_id: str) -> int:
    """sql/oauth/delete_oauth_client.sql"""
    return rowcount(await conn.execute(_DELETE_CLIENT, issuer, redirect_uri, client_id))


async def create_oauth_state(
    conn: Conn,
    *,
    state_hash: bytes,
    user_id: UUID,
    config_id: UUID,
    code_verifier: str,
    redirect_uri: str,
    server: OAuthServer,
    scopes: Sequence[str],
    client_id: str,
    client_secret: str | None,
    client_auth: ClientAuth,
    lifetime_s: float,
) -> None:
    """sql/oauth/create_oauth_state.sql"""
    await conn.execute(
        _CREATE_STATE,
        state_hash,
        user_id,
        config_id,
        code_verifier,
        redirect_uri,
        server,
        list(scopes),
        client_id,
        client_secret,
        client_auth,
        lifetime_s,
    )


async def consume_oauth_state(conn: Conn, *, state_hash: bytes) -> OAuthPending | None:
    """sql/oauth/consume_oauth_state.sql"""
    row = await conn.fetchrow(_CONSUME_STATE, state_hash)
    return None if row is None else msgspec.convert(dict(row), OAuthPending)


async def get_mcp_oauth(conn: Conn, *, user_id: UUID, config_id: UUID) -> OAuthGrant | None:
    """sql/oauth/get_mcp_oauth.sql"""
    row = await conn.fetchrow(_GET, user_id, config_id)
    return None if row is None else msgspec.convert(dict(row), OAuthGrant)


async def lock_mcp_oauth(conn: Conn, *, user_id: UUID, config_id: UUID) -> OAuthGrant | None:
    """sql/oauth/lock_mcp_oauth.sql; the caller holds the transaction."""
    row = await conn.fetchrow(_LOCK, user_id, config_id)
    return None if row is None else msgspec.convert(dict(row), OAuthGrant)


async def store_oauth_tokens(
    conn: Conn,
    *,
    user_id: UUID,
    config_id: UUID,
    server: OAuthServer,
    scopes: Sequence[str],
    client_id: str,
    client_secret: str | None,
    client_auth: ClientAuth,
    access_token: str,
    refresh_token: str | None,
    expires_in_s: float | None,
) -> int:
    """sql/oauth/store_oauth_tokens.sql"""
    status = await conn.execute(
        _STORE,
        user_id,
        config_id,
        server,
        list(scopes),
        client_id,
        client_secret,
        client_auth,
        access_token,
        refresh_token,
        expires_in_s,
    )
    return rowcount(status)


async def update_oauth_tokens(
    conn: Conn,
    *,
    config_id: UUID,
    access_token: str,
    refresh_token: str | None,
    scopes: Sequence[str],
    expires_in_s: float | None,
) -> TokenTimes | None:
    """sql/oauth/update_oauth_tokens.sql; None when the row is gone or no longer connected."""
    row = await conn.fetchrow(
        _UPDATE_TOKENS, config_id, access_token, refresh_token, list(scopes), expires_in_s
    )
    return None if row is None else msgspec.convert(dict(row), TokenTimes)


async def mark_oauth_needed(
    conn: Conn,
    *,
    config_id: UUID,
    server: OAuthServer | None,
    scopes: Sequence[str],
    seen_updated_at: datetime | None,
) -> int:
    """sql/oauth/mark_oauth_needed.sql"""
    status = await conn.execute(_MARK_NEEDED, config_id, server, list(scopes), seen_updated_at)
    return rowcount(status)


async def delete_mcp_oauth(conn: Conn, *, user_id: UUID, config_id: UUID) -> OAuthGrant | None:
    """sql/oauth/delete_mcp_oauth.sql"""
    row = await conn.fetchrow(_DELETE, user_id, config_id)
    return None if row is None else msgspec.convert(dict(row), OAuthGrant)


async def list_oauth_statuses(
    conn: Conn, *, user_id: UUID, config_ids: Sequence[UUID]
) -> list[OAuthStatusRow]:
    """sql/oauth/list_oauth_statuses.sql"""
    rows = await conn.fetch(_STATUSES, user_id, list(config_ids))
    return [msgspec.convert(dict(r), OAuthStatusRow) for r in rows]
