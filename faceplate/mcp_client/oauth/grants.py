"""Requests to the token and revocation endpoints, and what their answers mean."""

from __future__ import annotations

import logging
import re
from typing import Final

import msgspec
from mcp.shared.auth import OAuthToken
from pydantic import ValidationError

from faceplate.mcp_client.oauth.clients import Credentials, authenticate
from faceplate.mcp_client.oauth.errors import OAuthUnavailable
from faceplate.mcp_client.oauth.http import OAuthHttp, Reply
from faceplate.structs import OAuthServer

logger = logging.getLogger(__name__)

# RFC 6749 §5.2 error codes are plain ASCII words; anything else is not shown.
_ERROR_CODE: Final = re.compile(r"^[a-z_]{1,64}$")


class Tokens(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    refresh_token: str | None
    expires_in_s: float | None
    scopes: list[str] | None


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """The server said no for good (an RFC 6749 §5.2 error), as opposed to being away."""

    error: str


async def redeem_code(
    http: OAuthHttp,
    server: OAuthServer,
    client: Credentials,
    *,
    code: str,
    verifier: str,
    redirect_uri: str,
) -> Tokens | Refusal:
    """Exchange an authorization code (with its PKCE verifier) for tokens."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
        "resource": server.resource,
    }
    return await _token_request(http, server, client, form)


async def redeem_refresh(
    http: OAuthHttp, server: OAuthServer, client: Credentials, refresh_token: str
) -> Tokens | Refusal:
    """Trade a refresh token for new tokens (the server may rotate the refresh token)."""
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "resource": server.resource,
    }
    return await _token_request(http, server, client, form)


async def revoke(
    http: OAuthHttp, server: OAuthServer, client: Credentials, token: str, hint: str
) -> bool:
    """RFC 7009 revocation where the server offers it; False when it could not be done."""
    if server.revocation_endpoint is None:
        return False
    form, headers = authenticate(client, {"token": token, "token_type_hint": hint})
    try:
        reply = await http.post_form(server.revocation_endpoint, form, headers)
    except OAuthUnavailable as exc:
        logger.info("OAuth: revocation at %s failed: %s", server.issuer, exc.message)
        return False
    if reply.status != 200:
        logger.info("OAuth: revocation at %s answered HTTP %s", server.issuer, reply.status)
    return reply.status == 200


def error_code(reply: Reply) -> str:
    """The `error` of an OAuth error answer, or a stand-in naming the status."""
    try:
        code = reply.json().get("error")
    except OAuthUnavailable:
        code = None
    if isinstance(code, str) and _ERROR_CODE.match(code):
        return code
    return f"http_{reply.status}"


async def _token_request(
    http: OAuthHttp, server: OAuthServer, client: Credentials, form: dict[str, str]
) -> Tokens | Refusal:
    form, headers = authenticate(client, form)
    reply = await http.post_form(server.token_endpoint, form, headers)
    if reply.status in (400, 401):
        return Refusal(error=error_code(reply))
    if reply.status != 200:
        raise OAuthUnavailable(
            f"the token endpoint of {server.issuer} answered HTTP {reply.status}"
        )
    try:
        token = OAuthToken.model_validate_json(reply.body)
    except ValidationError:
        # Not chained: a validation error quotes its input, which holds the tokens.
        raise OAuthUnavailable(
            f"the token endpoint of {server.issuer} gave no usable bearer token"
        ) from None
    return Tokens(
        access_token=token.access_token,
        refresh_token=token.refresh_token,
        expires_in_s=None if token.expires_in is None else float(token.expires_in),
        scopes=None if token.scope is None else token.scope.split(),
    )
