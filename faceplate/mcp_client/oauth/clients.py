"""Which OAuth client Faceplate is to an authorization server, in the MCP spec's order.

A client pre-registered in the config (`config.oauth`) comes first; then the client metadata
document URL, when the server accepts one; then dynamic registration (RFC 7591), done once per
authorization server and redirect URI, stored encrypted and shared by every config.
"""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote

import msgspec
from mcp.client.auth.exceptions import OAuthRegistrationError
from mcp.client.auth.oauth2 import check_registration_usable
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata
from pydantic import AnyUrl, ValidationError

from faceplate.db import Database
from faceplate.mcp_client.oauth.errors import OAuthUnavailable
from faceplate.mcp_client.oauth.http import OAuthHttp
from faceplate.queries import oauth as q
from faceplate.secrets import SecretBox
from faceplate.structs import ClientAuth, OAuthClient, OAuthServer, RegisteredClient

logger = logging.getLogger(__name__)

CLIENT_NAME: Final = "Faceplate"
GRANT_TYPES: Final = ("authorization_code", "refresh_token")
_SECRET_METHODS: Final[tuple[ClientAuth, ...]] = ("client_secret_basic", "client_secret_post")


class Credentials(msgspec.Struct, frozen=True, kw_only=True):
    """A client as a token request presents it; the secret in clear."""

    client_id: str
    client_secret: str | None
    auth_method: ClientAuth


def authenticate(
    credentials: Credentials, form: dict[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The form and headers of a token or revocation request, with the client's credentials."""
    secret = credentials.client_secret
    if credentials.auth_method == "client_secret_basic" and secret is not None:
        pair = f"{quote(credentials.client_id, safe='')}:{quote(secret, safe='')}"
        basic = base64.b64encode(pair.encode()).decode()
        return form, {"Authorization": f"Basic {basic}"}
    if credentials.auth_method == "client_secret_post" and secret is not None:
        return {**form, "client_id": credentials.client_id, "client_secret": secret}, {}
    return {**form, "client_id": credentials.client_id}, {}


def credentials(
    box: SecretBox, client_id: str | None, sealed_secret: str | None, auth: ClientAuth | None
) -> Credentials | None:
    """A stored client (its secret encrypted) in clear; None if incomplete or undecryptable."""
    if client_id is None or auth is None:
        return None
    secret = None
    if sealed_secret is not None:
        secret = box.decrypt(sealed_secret)
        if secret is None:
            return None
    return Credentials(client_id=client_id, client_secret=secret, auth_method=auth)


def auth_method(supported: list[str], *, has_secret: bool) -> ClientAuth:
    """How a client with (or without) a secret authenticates to a server supporting these."""
    if not has_secret:
        return "none"
    for method in _SECRET_METHODS:
        if method in supported:
            return method
    return "client_secret_basic"


class ClientRegistry:
    """Chooses the client for an authorization server, registering one when it must."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        http: OAuthHttp,
        *,
        metadata_url: str | None,
    ) -> None:
        self._db = db
        self._box = box
        self._http = http
        self._metadata_url = metadata_url

    async def choose(
        self, server: OAuthServer, preregistered: OAuthClient | None, redirect_uri: str
    ) -> Credentials:
        """The client to use with `server` for `redirect_uri`; OAuthUnavailable when there is no
        way to have one."""
        if preregistered is not None:
            secret = preregistered.client_secret or None
            methods = server.token_endpoint_auth_methods
            return Credentials(
                client_id=preregistered.client_id,
                client_secret=secret,
                auth_method=auth_method(methods, has_secret=secret is not None),
            )
        if self._metadata_url is not None and server.client_id_metadata_document_supported:
            return Credentials(client_id=self._metadata_url, client_secret=None, auth_method="none")
        if server.registration_endpoint is None:
            raise OAuthUnavailable(
                "the authorization server does not register clients: give the config a "
                "pre-registered client (config.oauth)"
            )
        async with self._db.connection() as conn:
            stored = await q.get_oauth_client(conn, issuer=server.issuer, redirect_uri=redirect_uri)
        if stored is None or _expired(stored):
            stored = await self._register(server, server.registration_endpoint, redirect_uri)
        return self._credentials(stored)

    async def forget(self, server: OAuthServer, client_id: str, redirect_uri: str) -> None:
        """Drop a registration the server refused (invalid_client): the next start registers."""
        async with self._db.connection() as conn:
            dropped = await q.delete_oauth_client(
                conn, issuer=server.issuer, redirect_uri=redirect_uri, client_id=client_id
            )
        if dropped:
            logger.info("OAuth: registration with %s dropped, the server refused it", server.issuer)

    async def _register(
        self, server: OAuthServer, endpoint: str, redirect_uri: str
    ) -> RegisteredClient:
        supported = server.token_endpoint_auth_methods
        wanted = auth_method(supported, has_secret=True)
        if wanted not in supported and "none" in supported:
            wanted = "none"
        scope = " ".join(server.supported_scopes or server.scopes) or None
        metadata = OAuthClientMetadata(
            redirect_uris=[AnyUrl(redirect_uri)],
            token_endpoint_auth_method=wanted,
            grant_types=list(GRANT_TYPES),
            response_types=["code"],
            client_name=CLIENT_NAME,
            application_type="web",
            scope=scope,
        )
        reply = await self._http.post_json(
            endpoint, metadata.model_dump(mode="json", exclude_none=True)
        )
        if reply.status not in (200, 201):
            raise OAuthUnavailable(f"client registration failed: HTTP {reply.status}")
        body = reply.json()
        body.pop("issuer", None)
        try:
            info = OAuthClientInformationFull.model_validate(body)
            check_registration_usable(info)
        except (ValidationError, OAuthRegistrationError):
            # Not chained: a validation error quotes its input, which holds the client secret.
            raise OAuthUnavailable("the client registration answer is not usable") from None
        method = info.token_endpoint_auth_method or wanted
        if method not in ("none", *_SECRET_METHODS):
            raise OAuthUnavailable(f"the server registered the client for {method}")
        expires = info.client_secret_expires_at
        logger.info("OAuth: registered with %s", server.issuer)
        async with self._db.connection() as conn:
            saved = await q.save_oauth_client(
                conn,
                issuer=server.issuer,
                redirect_uri=redirect_uri,
                client_id=info.client_id,
                client_secret=(
                    None if info.client_secret is None else self._box.encrypt(info.client_secret)
                ),
                auth_method=_client_auth(method),
                secret_expires_at=datetime.fromtimestamp(expires, UTC) if expires else None,
            )
            if saved is None:  # another start registered first: theirs is the one kept
                saved = await q.get_oauth_client(
                    conn, issuer=server.issuer, redirect_uri=redirect_uri
                )
        if saved is None:
            raise OAuthUnavailable("the client registration could not be kept")
        return saved

    def _credentials(self, stored: RegisteredClient) -> Credentials:
        secret = None
        if stored.client_secret is not None:
            secret = self._box.decrypt(stored.client_secret)
            if secret is None:
                raise OAuthUnavailable("the stored client secret cannot be decrypted")
        return Credentials(
            client_id=stored.client_id, client_secret=secret, auth_method=stored.auth_method
        )


def _expired(stored: RegisteredClient) -> bool:
    expires = stored.secret_expires_at
    return expires is not None and expires <= datetime.now(UTC)


def _client_auth(method: str) -> ClientAuth:
    if method == "client_secret_basic":
        return "client_secret_basic"
    if method == "client_secret_post":
        return "client_secret_post"
    return "none"
