"""Errors of OAuth with an MCP server's authorization server.

Exception tree:
* FaceplateError
  x ToolError
    x OAuthError
      x AuthorizationRequired  (also faceplate.errors.AuthorizationRequired: a 424)
      x OAuthUnavailable       (also UpstreamError)
      x OAuthNotOffered        (also Invalid)
      x CallbackError
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from faceplate import errors
from faceplate.errors import Invalid, UpstreamError
from faceplate.mcp_client.errors import ToolError

CallbackReason = Literal[
    "unknown_state", "expired", "refused", "issuer_mismatch", "exchange_failed", "config_gone"
]


class OAuthError(ToolError):
    """OAuth with the MCP server's authorization server failed."""


class AuthorizationRequired(OAuthError, errors.AuthorizationRequired):
    """The MCP server needs the user to authorize Faceplate first."""

    def __init__(self, config_id: UUID, message: str | None = None) -> None:
        super().__init__(message)
        self.config_id = config_id


class OAuthUnavailable(OAuthError, UpstreamError):
    """The MCP server's authorization server could not be used."""


class OAuthNotOffered(OAuthError, Invalid):
    """This MCP config does not use OAuth."""


class CallbackError(OAuthError):
    """The authorization could not be completed; nothing was changed."""

    def __init__(self, reason: CallbackReason, message: str, config_id: UUID | None = None) -> None:
        super().__init__(message)
        self.reason: CallbackReason = reason
        self.config_id = config_id
