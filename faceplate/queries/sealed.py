"""Queries of the OAuth secrets as stored, for key rotation (sql/oauth/*sealed*, *_secrets)."""

from __future__ import annotations

from typing import Final
from uuid import UUID

import msgspec

from faceplate.db import Conn, rowcount
from faceplate.sql import QUERIES
from faceplate.structs import SealedClient, SealedGrant, SealedState

_LIST_GRANTS: Final = QUERIES["list_sealed_mcp_oauth"].text
_UPDATE_GRANT: Final = QUERIES["update_mcp_oauth_secrets"].text
_LIST_CLIENTS: Final = QUERIES["list_sealed_oauth_clients"].text
_UPDATE_CLIENT: Final = QUERIES["update_oauth_client_secret"].text
_LIST_STATES: Final = QUERIES["list_sealed_oauth_states"].text
_UPDATE_STATE: Final = QUERIES["update_oauth_state_secrets"].text


async def list_sealed_mcp_oauth(
    conn: Conn, *, after_config_id: UUID | None, limit: int
) -> list[SealedGrant]:
    """sql/oauth/list_sealed_mcp_oauth.sql"""
    rows = await conn.fetch(_LIST_GRANTS, after_config_id, limit)
    return [msgspec.convert(dict(r), SealedGrant) for r in rows]


async def update_mcp_oauth_secrets(
    conn: Conn,
    *,
    config_id: UUID,
    read_client_secret: str | None,
    read_access_token: str | None,
    read_refresh_token: str | None,
    client_secret: str | None,
    access_token: str | None,
    refresh_token: str | None,
) -> int:
    """sql/oauth/update_mcp_oauth_secrets.sql"""
    status = await conn.execute(
        _UPDATE_GRANT,
        config_id,
        read_client_secret,
        read_access_token,
        read_refresh_token,
        client_secret,
        access_token,
        refresh_token,
    )
    return rowcount(status)


async def list_sealed_oauth_clients(
    conn: Conn, *, after_issuer: str | None, after_redirect_uri: str | None, limit: int
) -> list[SealedClient]:
    """sql/oauth/list_sealed_oauth_clients.sql"""
    rows = await conn.fetch(_LIST_CLIENTS, after_issuer, after_redirect_uri, limit)
    return [msgspec.convert(dict(r), SealedClient) for r in rows]


async def update_oauth_client_secret(
    conn: Conn, *, issuer: str, redirect_uri: str, read_client_secret: str, client_secret: str
) -> int:
    """sql/oauth/update_oauth_client_secret.sql"""
    status = await conn.execute(
        _UPDATE_CLIENT, issuer, redirect_uri, read_client_secret, client_secret
    )
    return rowcount(status)


async def list_sealed_oauth_states(
    conn: Conn, *, after_state_hash: bytes | None, limit: int
) -> list[SealedState]:
    """sql/oauth/list_sealed_oauth_states.sql"""
    rows = await conn.fetch(_LIST_STATES, after_state_hash, limit)
    return [msgspec.convert(dict(r), SealedState) for r in rows]


async def update_oauth_state_secrets(
    conn: Conn,
    *,
    state_hash: bytes,
    read_code_verifier: str,
    read_client_secret: str | None,
    code_verifier: str,
    client_secret: str | None,
) -> int:
    """sql/oauth/update_oauth_state_secrets.sql"""
    status = await conn.execute(
        _UPDATE_STATE,
        state_hash,
        read_code_verifier,
        read_client_secret,
        code_verifier,
        client_secret,
    )
    return rowcount(status)
