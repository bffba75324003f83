"""Finding an MCP server's authorization server: RFC 9728, then RFC 8414 / OIDC discovery."""

from __future__ import annotations

import logging
from typing import Final
from urllib.parse import urlsplit

import httpx2
from mcp.client.auth.utils import (
    build_oauth_authorization_server_metadata_discovery_urls,
    build_protected_resource_metadata_discovery_urls,
    extract_resource_metadata_from_www_auth,
    extract_scope_from_www_auth,
    get_client_metadata_scopes,
    issuers_match,
)
from mcp.shared.auth import OAuthMetadata, ProtectedResourceMetadata
from mcp.shared.auth_utils import check_resource_allowed, resource_url_from_server_url
from mcp_types import LATEST_PROTOCOL_VERSION
from pydantic import ValidationError

from faceplate.mcp_client.oauth.errors import OAuthUnavailable
from faceplate.mcp_client.oauth.http import OAuthHttp
from faceplate.structs import HttpConfig, OAuthServer, SseConfig

logger = logging.getLogger(__name__)

_GRANT_TYPES: Final = ["authorization_code", "refresh_token"]


class Challenge:
    """What a 401's `WWW-Authenticate` says: where the resource metadata is, which scopes."""

    def __init__(self, header: str | None) -> None:
        response = httpx2.Response(401, headers={"WWW-Authenticate": header or ""})
        self.resource_metadata = extract_resource_metadata_from_www_auth(response)
        self.scope = extract_scope_from_www_auth(response)


async def discover(http: OAuthHttp, server_url: str, www_authenticate: str | None) -> OAuthServer:
    """The authorization server of the MCP server at `server_url`, as its 401 pointed to it.

    Protected resource metadata comes from the challenge's `resource_metadata`, else the
    well-known paths; without any, the server's origin is taken as its authorization server
    (the 2025-03-26 spec). The metadata's issuer must be the one asked for, and PKCE S256 must be
    offered. Raises OAuthUnavailable when no usable authorization server is found.
    """
    challenge = Challenge(www_authenticate)
    resource = resource_url_from_server_url(server_url)
    prm = await _resource_metadata(http, server_url, challenge)
    if prm is not None:
        if not check_resource_allowed(resource, str(prm.resource)):
            raise OAuthUnavailable(
                f"the MCP server's metadata names another resource ({prm.resource})"
            )
        resource = str(prm.resource)
        issuer = str(prm.authorization_servers[0])
    else:
        parts = urlsplit(server_url)
        issuer = f"{parts.scheme}://{parts.netloc}"
    metadata = await _server_metadata(http, issuer, server_url, legacy=prm is None)
    methods = metadata.code_challenge_methods_supported or []
    if "S256" not in methods:
        raise OAuthUnavailable(f"the authorization server {issuer} does not offer PKCE S256")
    scope = get_client_metadata_scopes(challenge.scope, prm, metadata, _GRANT_TYPES)
    auth_methods = metadata.token_endpoint_auth_methods_supported
    return OAuthServer(
        issuer=str(metadata.issuer),
        authorization_endpoint=str(metadata.authorization_endpoint),
        token_endpoint=str(metadata.token_endpoint),
        resource=resource,
        registration_endpoint=_opt(metadata.registration_endpoint),
        revocation_endpoint=_opt(metadata.revocation_endpoint),
        scopes=scope.split() if scope else [],
        supported_scopes=list(metadata.scopes_supported or []),
        iss_parameter_supported=bool(metadata.authorization_response_iss_parameter_supported),
        client_id_metadata_document_supported=bool(metadata.client_id_metadata_document_supported),
        token_endpoint_auth_methods=(
            list(auth_methods) if auth_methods is not None else ["client_secret_basic"]
        ),
    )


async def _resource_metadata(
    http: OAuthHttp, server_url: str, challenge: Challenge
) -> ProtectedResourceMetadata | None:
    failed: int | None = None
    urls = build_protected_resource_metadata_discovery_urls(challenge.resource_metadata, server_url)
    for url in urls:
        reply = await http.get(url)
        if reply.status == 200:
            try:
                return ProtectedResourceMetadata.model_validate_json(reply.body)
            except ValidationError:
                logger.info("OAuth: unusable resource metadata at %s", _where(url))
                continue
        if reply.status >= 500 or reply.status == 429:
            failed = reply.status
    if failed is not None:
        # A failing server says nothing about whether it publishes metadata.
        raise OAuthUnavailable(f"the MCP server's resource metadata answered HTTP {failed}")
    return None


async def _server_metadata(
    http: OAuthHttp, issuer: str, server_url: str, *, legacy: bool
) -> OAuthMetadata:
    urls = build_oauth_authorization_server_metadata_discovery_urls(
        None if legacy else issuer, server_url
    )
    for url in urls:
        reply = await http.get(url)
        if reply.status == 200:
            try:
                metadata = OAuthMetadata.model_validate_json(reply.body)
            except ValidationError:
                logger.info("OAuth: unusable server metadata at %s", _where(url))
                continue
            if not issuers_match(str(metadata.issuer), issuer):
                raise OAuthUnavailable(
                    f"the authorization server's metadata names issuer {metadata.issuer}, "
                    f"not {issuer}"
                )
            return metadata
        if not 300 <= reply.status < 500:
            raise OAuthUnavailable(
                f"the authorization server {issuer} answered HTTP {reply.status}"
            )
    raise OAuthUnavailable(f"no authorization server metadata found for {issuer}")


def _opt(url: object | None) -> str | None:
    return None if url is None else str(url)


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


async def probe(http: OAuthHttp, config: HttpConfig | SseConfig) -> tuple[int, str | None]:
    """How the MCP server answers a first request without a token: its status and its
    `WWW-Authenticate` (an `initialize` POST for streamable HTTP, the stream's GET for SSE)."""
    headers = dict(config.headers)
    if isinstance(config, SseConfig):
        accept = {"Accept": "text/event-stream"}
        reply = await http.probe(config.url, "GET", {**headers, **accept}, None)
    else:
        body = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": LATEST_PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "faceplate", "version": "0.1.0"},
            },
        }
        accept = {"Accept": "application/json, text/event-stream"}
        reply = await http.probe(config.url, "POST", {**headers, **accept}, body)
    return reply.status, reply.headers.get("www-authenticate")
