"""Access tokens of OAuth configs: kept per instance, refreshed one at a time across instances.

A token near its expiry is refreshed before it is used. The refresh holds the config's
`mcp_oauth` row locked (SELECT … FOR UPDATE) from before the refresh token is read until the
rotated one is committed, so two instances never redeem one refresh token: the second waits on
the lock, then finds the new token and uses it. A refresh the server refuses marks the config
`needs_authorization`. Within one instance, one task per config waits on the row.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Final, Literal
from uuid import UUID

import msgspec

from faceplate.db import Conn, Database
from faceplate.mcp_client.oauth import grants
from faceplate.mcp_client.oauth.clients import credentials
from faceplate.mcp_client.oauth.errors import AuthorizationRequired
from faceplate.mcp_client.oauth.http import OAuthHttp
from faceplate.queries import oauth as q
from faceplate.secrets import SecretBox
from faceplate.structs import OAuthGrant

logger = logging.getLogger(__name__)

Key = tuple[UUID, UUID]
_Outcome = Literal["gone", "needed"]
REFRESH_MARGIN_S: Final = 60.0
# How long a config found without OAuth is taken to have none, before its row is read again.
# A server that starts asking meanwhile answers 401, and the bearer then reads it at once.
ABSENT_S: Final = 10.0
_ABSENT_MAX: Final = 10_000


class AccessToken(msgspec.Struct, frozen=True):
    """A bearer token to send, and the version of the grant it belongs to (`updated_at`)."""

    value: str
    version: datetime
    refresh_at: float


class TokenKeeper:
    """The access tokens of every OAuth config, for the MCP sessions of one instance."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        http: OAuthHttp,
        *,
        margin_s: float = REFRESH_MARGIN_S,
    ) -> None:
        self._db = db
        self._box = box
        self._http = http
        self._margin_s = margin_s
        self._cache: dict[Key, AccessToken] = {}
        self._absent: dict[Key, float] = {}
        self._locks: dict[Key, asyncio.Lock] = {}

    async def current(self, user_id: UUID, config_id: UUID) -> AccessToken | None:
        """The token to send; None when the config's server never asked for OAuth.

        Refreshes first when the token is near its expiry. Raises AuthorizationRequired when
        the user must authorize (again), OAuthUnavailable when a refresh could not be tried.
        """
        key = (user_id, config_id)
        cached = self._cache.get(key)
        if cached is not None and time.time() < cached.refresh_at:
            return cached
        if time.monotonic() < self._absent.get(key, 0.0):
            return None
        async with self._db.connection() as conn:
            row = await q.get_mcp_oauth(conn, user_id=user_id, config_id=config_id)
        if row is None:
            self._cache.pop(key, None)
            self._note_absent(key)
            return None
        self._absent.pop(key, None)
        if row.status != "connected":
            self._cache.pop(key, None)
            raise AuthorizationRequired(config_id)
        token = self._usable(key, row)
        if token is not None:
            return token
        return await self._refresh(key, rejected=None)

    async def rejected(self, user_id: UUID, config_id: UUID, token: AccessToken) -> AccessToken:
        """A token to try after the server refused `token` (401): one another task or instance
        refreshed meanwhile, else a refresh's. Raises AuthorizationRequired when there is none."""
        key = (user_id, config_id)
        if self._cache.get(key) == token:
            del self._cache[key]
        return await self._refresh(key, rejected=token.value)

    def forget(self, user_id: UUID, config_id: UUID) -> None:
        """Drop what this instance keeps of a config's token (after a callback or a forget)."""
        self._cache.pop((user_id, config_id), None)
        self._absent.pop((user_id, config_id), None)

    def _note_absent(self, key: Key) -> None:
        now = time.monotonic()
        if len(self._absent) >= _ABSENT_MAX:
            self._absent = {k: t for k, t in self._absent.items() if t > now}
        self._absent[key] = now + ABSENT_S

    async def _refresh(self, key: Key, *, rejected: str | None) -> AccessToken:
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._cache.get(key)
            if cached is not None and cached.value != rejected and time.time() < cached.refresh_at:
                return cached  # another task of this instance refreshed while this one waited
            outcome = await self._refresh_locked(key, rejected)
        if isinstance(outcome, AccessToken):
            return outcome
        self._cache.pop(key, None)
        raise AuthorizationRequired(key[1])

    async def _refresh_locked(self, key: Key, rejected: str | None) -> AccessToken | _Outcome:
        user_id, config_id = key
        async with self._db.connection() as conn, conn.transaction():
            row = await q.lock_mcp_oauth(conn, user_id=user_id, config_id=config_id)
            if row is None:
                return "gone"
            if row.status != "connected":
                return "needed"
            current = self._open(row.access_token)
            if current is not None and current != rejected:
                token = self._usable(key, row)
                if token is not None:
                    return token  # another instance refreshed while this one waited
            refresh = self._open(row.refresh_token)
            client = credentials(self._box, row.client_id, row.client_secret, row.client_auth)
            if refresh is None or client is None or row.server is None:
                logger.info("OAuth: config %s has no usable refresh token", config_id)
                await self._needed(conn, row)
                return "needed"
            result = await grants.redeem_refresh(self._http, row.server, client, refresh)
            if isinstance(result, grants.Refusal):
                logger.warning("OAuth: refresh of config %s refused (%s)", config_id, result.error)
                await self._needed(conn, row)
                return "needed"
            times = await q.update_oauth_tokens(
                conn,
                config_id=config_id,
                access_token=self._box.encrypt(result.access_token),
                # A server that does not rotate keeps the refresh token it gave (RFC 6749 §6).
                refresh_token=self._box.encrypt(result.refresh_token or refresh),
                scopes=row.scopes if result.scopes is None else result.scopes,
                expires_in_s=result.expires_in_s,
            )
            if times is None:
                return "gone"
        logger.info("OAuth: refreshed the token of config %s", config_id)
        refreshed = msgspec.structs.replace(
            row,
            access_token=None,
            issued_at=times.issued_at,
            expires_at=times.expires_at,
            updated_at=times.updated_at,
        )
        return self._remember(key, refreshed, result.access_token)

    async def _needed(self, conn: Conn, row: OAuthGrant) -> None:
        await q.mark_oauth_needed(
            conn, config_id=row.config_id, server=None, scopes=[], seen_updated_at=row.updated_at
        )

    def _usable(self, key: Key, row: OAuthGrant) -> AccessToken | None:
        """The row's token when it is not near its expiry (it is then kept), else None."""
        value = self._open(row.access_token)
        if value is None:
            return None
        token = self._remember(key, row, value)
        return token if time.time() < token.refresh_at else None

    def _remember(self, key: Key, row: OAuthGrant, value: str) -> AccessToken:
        token = AccessToken(value, row.updated_at, self._refresh_at(row))
        self._cache[key] = token
        return token

    def _refresh_at(self, row: OAuthGrant) -> float:
        if row.expires_at is None:
            return float("inf")
        expires = row.expires_at.timestamp()
        lifetime = expires - (row.issued_at.timestamp() if row.issued_at else expires)
        return expires - min(self._margin_s, max(lifetime, 0.0) / 4)

    def _open(self, sealed: str | None) -> str | None:
        return None if sealed is None else self._box.decrypt(sealed)
