"""Authorizing MCP configs with OAuth: starting in the browser, coming back, forgetting."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from uuid import UUID

import msgspec

from faceplate.api.schemas import AuthorizationUrl
from faceplate.errors import Unavailable
from faceplate.mcp_client.oauth.errors import CallbackError, CallbackReason
from faceplate.mcp_client.oauth.flow import OAuthFlow
from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.services.mcp_configs import McpConfigs
from faceplate.structs import User

_log = logging.getLogger(__name__)


class CallbackOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """How a callback ended: connected, or why not (nothing was changed then)."""

    connected: bool
    config_id: UUID | None
    message: str
    reason: CallbackReason | None = None


class McpOAuth:
    """The two phases of a config's authorization, and forgetting its tokens."""

    def __init__(
        self,
        configs: McpConfigs,
        flow: OAuthFlow,
        sessions: McpSessionManager,
        *,
        enabled: bool,
    ) -> None:
        self._configs = configs
        self._flow = flow
        self._sessions = sessions
        self._enabled = enabled

    async def start(self, user: User, config_id: UUID) -> AuthorizationUrl:
        """The URL to open in the browser. NotFound unless the config is the user's; Invalid
        (422) for one that cannot use OAuth or a server that does not ask for it; UpstreamError
        (502) when its authorization server cannot be used; Unavailable (503) without a public
        URL to come back to."""
        config = await self._configs.get_clear(user, config_id)
        if not self._enabled:
            raise Unavailable("OAuth needs FACEPLATE_PUBLIC_URL to be set on this server")
        url = await self._flow.start(user.id, config.id, config.config)
        return AuthorizationUrl(authorization_url=url)

    async def forget(self, user: User, config_id: UUID) -> None:
        """Forget the config's tokens (revoked where the server allows); NotFound if not the
        user's. Its sessions close, so the next use finds it needing authorization."""
        await self._configs.get_sealed(user, config_id)
        await self._flow.forget(user.id, config_id)
        await self._sessions.close_config(config_id)

    async def callback(self, params: Mapping[str, str]) -> CallbackOutcome:
        """Complete an authorization from the browser's return (no bearer token: the state is
        the credential). A failure changes nothing and says why."""
        try:
            connected = await self._flow.callback(params)
        except CallbackError as exc:
            _log.info("OAuth callback refused: %s", exc.reason)
            return CallbackOutcome(
                connected=False, config_id=exc.config_id, message=exc.message, reason=exc.reason
            )
        # A session opened before (refused, or with another grant) is not kept.
        await self._sessions.close_config(connected.config_id)
        return CallbackOutcome(
            connected=True,
            config_id=connected.config_id,
            message="The MCP server is connected. You can close this page.",
        )
