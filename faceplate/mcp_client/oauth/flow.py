"""The two-phase authorization of an MCP config, with its state in the database.

`start` discovers the server's authorization server, chooses the client, and stores a pending
authorization (PKCE S256 verifier encrypted, the random `state` only as its SHA-256, single use,
10 minutes, bound to the user and config); it answers the URL for the browser. `callback`, on
any instance, takes that pending authorization back by its state, checks `iss` (RFC 9207),
exchanges the code and stores the tokens encrypted. Neither tokens, codes, verifiers nor states
are logged or put in an error message.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final
from urllib.parse import urlencode
from uuid import UUID

import msgspec
from mcp.client.auth.oauth2 import PKCEParameters
from mcp.client.auth.utils import issuers_match

from faceplate.db import Database
from faceplate.mcp_client.errors import ToolUnavailable
from faceplate.mcp_client.oauth import grants
from faceplate.mcp_client.oauth.clients import ClientRegistry, credentials
from faceplate.mcp_client.oauth.discovery import discover, probe
from faceplate.mcp_client.oauth.errors import (
    AuthorizationRequired,
    CallbackError,
    OAuthNotOffered,
    OAuthUnavailable,
)
from faceplate.mcp_client.oauth.http import OAuthHttp
from faceplate.mcp_client.oauth.tokens import REFRESH_MARGIN_S, TokenKeeper
from faceplate.queries import oauth as q
from faceplate.secrets import SecretBox
from faceplate.settings import Settings
from faceplate.structs import (
    HttpConfig,
    McpServerConfig,
    OAuthClient,
    OAuthStatusRow,
    SseConfig,
)

logger = logging.getLogger(__name__)

STATE_LIFETIME_S: Final = 600.0
_STATE_MAX: Final = 512
_SHOWN_ERROR: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class OAuthSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where the browser comes back to (None: no authorization can start), and which client
    metadata document Faceplate has."""

    redirect_uri: str | None
    allow_private: bool
    client_metadata_url: str | None = None
    state_lifetime_s: float = STATE_LIFETIME_S
    refresh_margin_s: float = REFRESH_MARGIN_S

    @classmethod
    def from_settings(cls, settings: Settings) -> OAuthSettings:
        return cls(
            redirect_uri=settings.oauth_callback_url,
            allow_private=settings.mcp_allow_private,
            client_metadata_url=settings.oauth_client_metadata_url,
        )


class Connected(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    config_id: UUID


def state_hash(state: str) -> bytes:
    return hashlib.sha256(state.encode()).digest()


def uses_own_authorization(config: McpServerConfig) -> bool:
    """A config that sends its own Authorization header is not one Faceplate authorizes."""
    return isinstance(config, HttpConfig | SseConfig) and any(
        name.lower() == "authorization" for name in config.headers
    )


def may_authorize(config: McpServerConfig) -> bool:
    """Whether Faceplate may authorize this config with OAuth: HTTP or SSE, no own header."""
    return isinstance(config, HttpConfig | SseConfig) and not uses_own_authorization(config)


class OAuthFlow:
    """OAuth of every MCP config, for one instance; `aclose` it at shutdown."""

    def __init__(self, db: Database, box: SecretBox, settings: OAuthSettings) -> None:
        self._db = db
        self._box = box
        self._settings = settings
        self.http = OAuthHttp(allow_private=settings.allow_private)
        self.clients = ClientRegistry(
            db,
            box,
            self.http,
            metadata_url=settings.client_metadata_url,
        )
        self.tokens = TokenKeeper(db, box, self.http, margin_s=settings.refresh_margin_s)

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- phase one --------------------------------------------------------------------------

    async def start(self, user_id: UUID, config_id: UUID, config: McpServerConfig) -> str:
        """A new authorization of the user's config: the URL to open in the browser.

        Raises OAuthNotOffered for a config that cannot use OAuth or a server that does not ask
        for it, OAuthUnavailable when its authorization server cannot be used.
        """
        if not isinstance(config, HttpConfig | SseConfig):
            raise OAuthNotOffered("stdio MCP servers do not use OAuth")
        url = config.url
        if uses_own_authorization(config):
            raise OAuthNotOffered("the config sends its own Authorization header")
        redirect_uri = self._settings.redirect_uri
        if redirect_uri is None:
            raise OAuthNotOffered("OAuth needs FACEPLATE_PUBLIC_URL to be set on this server")
        status, challenge = await probe(self.http, config)
        if status != 401:
            raise OAuthNotOffered(f"the MCP server does not ask for authorization (HTTP {status})")
        server = await discover(self.http, url, challenge)
        self.http.check(server.token_endpoint)
        self._check_browser_url(server.authorization_endpoint)
        oauth = config.oauth if isinstance(config, HttpConfig | SseConfig) else None
        preregistered = oauth if isinstance(oauth, OAuthClient) else None
        client = await self.clients.choose(server, preregistered, redirect_uri)
        scopes = list(preregistered.scopes) if preregistered and preregistered.scopes else None
        scopes = scopes or server.scopes
        pkce = PKCEParameters.generate()
        state = secrets.token_urlsafe(32)
        async with self._db.connection() as conn:
            await q.create_oauth_state(
                conn,
                state_hash=state_hash(state),
                user_id=user_id,
                config_id=config_id,
                code_verifier=self._box.encrypt(pkce.code_verifier),
                redirect_uri=redirect_uri,
                server=server,
                scopes=scopes,
                client_id=client.client_id,
                client_secret=self._seal(client.client_secret),
                client_auth=client.auth_method,
                lifetime_s=self._settings.state_lifetime_s,
            )
            # The config shows needs_authorization from now on (a connected one stays so).
            await q.mark_oauth_needed(
                conn, config_id=config_id, server=server, scopes=scopes, seen_updated_at=None
            )
        params = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": pkce.code_challenge,
            "code_challenge_method": "S256",
            "resource": server.resource,
        }
        if scopes:
            params["scope"] = " ".join(scopes)
            if "offline_access" in scopes:  # OIDC asks for consent to offline access
                params["prompt"] = "consent"
        endpoint = server.authorization_endpoint
        separator = "&" if "?" in endpoint else "?"
        logger.info("OAuth: authorization of config %s started with %s", config_id, server.issuer)
        return f"{endpoint}{separator}{urlencode(params)}"

    # --- phase two --------------------------------------------------------------------------

    async def callback(self, params: Mapping[str, str]) -> Connected:
        """Complete an authorization from the browser's return; CallbackError changes nothing."""
        state = params.get("state", "")
        pending = None
        if 0 < len(state) <= _STATE_MAX:
            async with self._db.connection() as conn:
                pending = await q.consume_oauth_state(conn, state_hash=state_hash(state))
        if pending is None:
            raise CallbackError(
                "unknown_state", "This authorization is unknown or was already completed."
            )
        config_id = pending.config_id
        if pending.expired:
            raise CallbackError("expired", "This authorization expired; start it again.", config_id)
        error = params.get("error")
        if error is not None:
            shown = error if _SHOWN_ERROR.match(error) else "an error"
            raise CallbackError("refused", f"The authorization server answered {shown}.", config_id)
        server = pending.server
        iss = params.get("iss")
        if (iss is None and server.iss_parameter_supported) or (
            iss is not None and not issuers_match(iss, server.issuer)
        ):
            raise CallbackError(
                "issuer_mismatch",
                "The answer did not come from the expected authorization server.",
                config_id,
            )
        code = params.get("code", "")
        verifier = self._box.decrypt(pending.code_verifier)
        client = credentials(
            self._box, pending.client_id, pending.client_secret, pending.client_auth
        )
        if not code or verifier is None or client is None:
            raise CallbackError("exchange_failed", "The answer carried no usable code.", config_id)
        try:
            result = await grants.redeem_code(
                self.http,
                server,
                client,
                code=code,
                verifier=verifier,
                redirect_uri=pending.redirect_uri,
            )
        except OAuthUnavailable as exc:
            raise CallbackError("exchange_failed", f"{exc.message}.", config_id) from None
        if isinstance(result, grants.Refusal):
            if result.error == "invalid_client":
                await self.clients.forget(server, client.client_id, pending.redirect_uri)
            raise CallbackError(
                "exchange_failed",
                f"The authorization server refused the code ({result.error}).",
                config_id,
            )
        async with self._db.connection() as conn:
            stored = await q.store_oauth_tokens(
                conn,
                user_id=pending.user_id,
                config_id=config_id,
                server=server,
                scopes=pending.scopes if result.scopes is None else result.scopes,
                client_id=client.client_id,
                client_secret=self._seal(client.client_secret),
                client_auth=client.auth_method,
                access_token=self._box.encrypt(result.access_token),
                refresh_token=self._seal(result.refresh_token),
                expires_in_s=result.expires_in_s,
            )
        if not stored:
            raise CallbackError("config_gone", "The MCP config no longer exists.", config_id)
        self.tokens.forget(pending.user_id, config_id)
        logger.info("OAuth: config %s connected", config_id)
        return Connected(user_id=pending.user_id, config_id=config_id)

    # --- the rest of a grant's life -----------------------------------------------------------

    async def forget(self, user_id: UUID, config_id: UUID) -> bool:
        """Forget the config's tokens and pending authorizations, revoking the tokens where the
        server offers revocation (after the row is gone, best effort). False if there were none.
        """
        async with self._db.connection() as conn:
            row = await q.delete_mcp_oauth(conn, user_id=user_id, config_id=config_id)
        self.tokens.forget(user_id, config_id)
        if row is None:
            return False
        client = credentials(self._box, row.client_id, row.client_secret, row.client_auth)
        if row.server is not None and client is not None:
            for sealed, hint in (
                (row.refresh_token, "refresh_token"),
                (row.access_token, "access_token"),
            ):
                token = None if sealed is None else self._box.decrypt(sealed)
                if token is not None:
                    await grants.revoke(self.http, row.server, client, token, hint)
        logger.info("OAuth: tokens of config %s forgotten", config_id)
        return True

    async def challenged(
        self,
        user_id: UUID,
        config_id: UUID,
        config: McpServerConfig,
        www_authenticate: str | None,
        seen: datetime | None = None,
    ) -> AuthorizationRequired:
        """The config's server answered 401 for good: find its authorization server and mark the
        config `needs_authorization`. Answers the error to raise; raises ToolUnavailable when
        the server is not one Faceplate can authorize with.
        """
        if uses_own_authorization(config):
            raise ToolUnavailable("the MCP server refused the configured Authorization header")
        server = await discover(self.http, _url_of(config), www_authenticate)
        async with self._db.connection() as conn:
            await q.mark_oauth_needed(
                conn, config_id=config_id, server=server, scopes=server.scopes, seen_updated_at=seen
            )
        self.tokens.forget(user_id, config_id)
        logger.info("OAuth: config %s needs authorization", config_id)
        return AuthorizationRequired(config_id)

    async def statuses(
        self, user_id: UUID, config_ids: Sequence[UUID]
    ) -> dict[UUID, OAuthStatusRow]:
        """The OAuth status of those of the configs that have one."""
        if not config_ids:
            return {}
        async with self._db.connection() as conn:
            rows = await q.list_oauth_statuses(conn, user_id=user_id, config_ids=config_ids)
        return {row.config_id: row for row in rows}

    # --- helpers ----------------------------------------------------------------------------

    def _check_browser_url(self, url: str) -> None:
        """The authorization endpoint is for the browser: http(s) only, https outside dev."""
        lowered = url.lower()
        allowed = ("https://",) if self.http.require_https else ("https://", "http://")
        if not lowered.startswith(allowed):
            raise OAuthUnavailable("the authorization endpoint must be an https URL")

    def _seal(self, value: str | None) -> str | None:
        return None if value is None else self._box.encrypt(value)


def _url_of(config: McpServerConfig) -> str:
    if isinstance(config, HttpConfig | SseConfig):
        return config.url
    raise OAuthNotOffered("stdio MCP servers do not use OAuth")
