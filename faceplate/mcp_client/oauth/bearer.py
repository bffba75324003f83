"""The access token on every HTTP request of an OAuth config's MCP session."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from datetime import datetime
from uuid import UUID

import httpx2

from faceplate.mcp_client.oauth.errors import OAuthError
from faceplate.mcp_client.oauth.tokens import AccessToken, TokenKeeper

logger = logging.getLogger(__name__)


class OAuthBearer(httpx2.Auth):
    """Adds the config's current access token (refreshed first when near its expiry).

    On a 401 it asks for the token a refresh gives (or one another instance refreshed) and
    sends the request once more with it. A 401 that stays is remembered in `refused`, with the
    server's challenge, for the session to report the config as needing authorization; the
    response itself goes back to the MCP client unchanged.
    """

    requires_request_body = True

    def __init__(self, tokens: TokenKeeper, user_id: UUID, config_id: UUID) -> None:
        self._tokens = tokens
        self._user_id = user_id
        self._config_id = config_id
        self.refused = False
        self.bearing = False  # the last request carried an access token: the session is signed in
        self.challenge: str | None = None
        self.version: datetime | None = None
        self.failure: OAuthError | None = None

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        token = await self._current()
        self.bearing = token is not None
        if token is not None:
            request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        if response.status_code != 401:
            return
        self.challenge = response.headers.get("www-authenticate")
        if token is None:
            # Perhaps authorized meanwhile (on another instance): read the config's row again.
            self._tokens.forget(self._user_id, self._config_id)
            retry = await self._current()
            if retry is None:
                self._refuse(None)
                return
        else:
            try:
                retry = await self._tokens.rejected(self._user_id, self._config_id, token)
            except OAuthError as exc:
                self.failure = exc
                self._refuse(token.version)
                return
        self.bearing = True
        request.headers["Authorization"] = f"Bearer {retry.value}"
        response = yield request
        if response.status_code == 401:
            self.challenge = response.headers.get("www-authenticate")
            self._refuse(retry.version)

    async def _current(self) -> AccessToken | None:
        try:
            return await self._tokens.current(self._user_id, self._config_id)
        except OAuthError as exc:
            # Sent without a token: the server's 401 says what it wants now.
            self.failure = exc
            return None

    def _refuse(self, version: datetime | None) -> None:
        if not self.refused:
            logger.info("OAuth: the MCP server of config %s refused the token", self._config_id)
        self.refused = True
        self.version = version

    @property
    def needs_authorization(self) -> bool:
        """The server refused to serve without a (new) token."""
        return self.refused
