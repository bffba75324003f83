"""Bodies of the chat page's routes (not REST API: they are not in /openapi.json)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

import msgspec

_DEFAULT_TTL_S: Final = 12 * 3600
_MAX_TTL_S: Final = 30 * 24 * 3600

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=255, pattern=r"^[^\s@]+@[^\s@]+$")]
Ttl = Annotated[int, msgspec.Meta(ge=10, le=_MAX_TTL_S)]


class DevTokenRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    email: Email
    ttl_s: Ttl = _DEFAULT_TTL_S


class DevToken(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    expires_at: datetime


class HostedUi(msgspec.Struct, frozen=True, kw_only=True):
    """Where the page sends a browser to sign in; `redirect_uri` null: the page's own origin."""

    domain: str
    client_id: str
    redirect_uri: str | None


class PageConfig(msgspec.Struct, frozen=True, kw_only=True):
    auth: str
    cognito: HostedUi | None
