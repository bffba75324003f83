from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from faceplate.mcp_client.oauth.discovery import discover
from faceplate.mcp_client.oauth.errors import OAuthUnavailable
from faceplate.mcp_client.oauth.http import OAuthHttp
from tests.oauth.helpers import Hits, tiny_app
from tests.support.oauth_server import AuthorizationServer
from tests.support.protected_mcp import ProtectedMcpServer
from tests.support.server import ServerThread


@pytest.fixture
async def http() -> AsyncIterator[OAuthHttp]:
    client = OAuthHttp(allow_private=True)
    try:
        yield client
    finally:
        await client.aclose()


def _challenge(metadata_url: str, scope: str | None = None) -> str:
    extra = f', scope="{scope}"' if scope else ""
    return f'Bearer error="invalid_token", resource_metadata="{metadata_url}"{extra}'


def _prm_url(protected: ProtectedMcpServer) -> str:
    return protected.url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")


async def test_the_challenge_leads_to_the_authorization_server(
    http: OAuthHttp, auth: AuthorizationServer, protected: ProtectedMcpServer
) -> None:
    server = await discover(http, protected.url, _challenge(_prm_url(protected)))

    assert server.issuer == auth.issuer
    assert server.authorization_endpoint == f"{auth.issuer}/authorize"
    assert server.token_endpoint == f"{auth.issuer}/token"
    assert server.registration_endpoint == f"{auth.issuer}/register"
    assert server.revocation_endpoint == f"{auth.issuer}/revoke"
    assert server.resource == protected.url
    assert server.scopes == ["tools"]
    assert server.supported_scopes == ["tools", "profile"]
    assert server.iss_parameter_supported is True


async def test_the_challenges_scope_comes_first(
    http: OAuthHttp, protected: ProtectedMcpServer
) -> None:
    server = await discover(http, protected.url, _challenge(_prm_url(protected), "tools profile"))

    assert server.scopes == ["tools", "profile"]


async def test_without_a_challenge_the_well_known_path_is_tried(
    http: OAuthHttp, auth: AuthorizationServer, protected: ProtectedMcpServer
) -> None:
    server = await discover(http, protected.url, 'Bearer error="invalid_token"')

    assert server.issuer == auth.issuer
    assert server.resource == protected.url


def _serve(routes: dict[str, Callable[[Request], Response]]) -> tuple[ServerThread, Hits]:
    hits = Hits()
    return ServerThread(tiny_app(routes, hits)).start(), hits


def _metadata(issuer: str, **overrides: Any) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "code_challenge_methods_supported": ["S256"],
        **overrides,
    }


async def test_without_resource_metadata_the_servers_origin_is_its_authorization_server(
    http: OAuthHttp,
) -> None:
    holder: dict[str, str] = {}
    server_thread, _ = _serve(
        {
            "/.well-known/oauth-authorization-server": lambda r: JSONResponse(
                _metadata(holder["origin"])
            )
        }
    )
    holder["origin"] = server_thread.url
    try:
        server = await discover(http, f"{server_thread.url}/mcp", None)
    finally:
        server_thread.stop()

    assert server.issuer == server_thread.url
    assert server.resource == f"{server_thread.url}/mcp"
    assert server.token_endpoint_auth_methods == ["client_secret_basic"]


async def test_metadata_naming_another_issuer_is_refused(
    http: OAuthHttp, auth: AuthorizationServer, protected: ProtectedMcpServer
) -> None:
    auth.options.metadata_issuer = "https://impostor.example"

    with pytest.raises(OAuthUnavailable, match=r"names issuer https://impostor\.example"):
        await discover(http, protected.url, _challenge(_prm_url(protected)))


async def test_resource_metadata_for_another_resource_is_refused(http: OAuthHttp) -> None:
    prm = {"resource": "https://elsewhere.example/mcp", "authorization_servers": ["https://a.b"]}
    server_thread, hits = _serve({"/prm": lambda r: JSONResponse(prm)})
    try:
        with pytest.raises(OAuthUnavailable, match="names another resource"):
            await discover(http, f"{server_thread.url}/mcp", _challenge(f"{server_thread.url}/prm"))
    finally:
        server_thread.stop()
    assert hits.paths == ["/prm"]


async def test_a_server_without_pkce_s256_is_refused(http: OAuthHttp) -> None:
    holder: dict[str, str] = {}
    server_thread, _ = _serve(
        {
            "/.well-known/oauth-authorization-server": lambda r: JSONResponse(
                _metadata(holder["origin"], code_challenge_methods_supported=["plain"])
            )
        }
    )
    holder["origin"] = server_thread.url
    try:
        with pytest.raises(OAuthUnavailable, match="PKCE S256"):
            await discover(http, f"{server_thread.url}/mcp", None)
    finally:
        server_thread.stop()


async def test_failing_resource_metadata_is_an_outage_not_a_legacy_server(http: OAuthHttp) -> None:
    server_thread, _ = _serve({"/prm": lambda r: Response("down", status_code=503)})
    try:
        with pytest.raises(OAuthUnavailable, match="HTTP 503"):
            await discover(http, f"{server_thread.url}/mcp", _challenge(f"{server_thread.url}/prm"))
    finally:
        server_thread.stop()


async def test_no_metadata_anywhere_is_reported(http: OAuthHttp) -> None:
    server_thread, _ = _serve({"/nothing": lambda r: Response(status_code=404)})
    try:
        with pytest.raises(OAuthUnavailable, match="no authorization server metadata"):
            await discover(http, f"{server_thread.url}/mcp", None)
    finally:
        server_thread.stop()


async def test_a_private_metadata_address_is_refused_without_a_request(
    protected: ProtectedMcpServer,
) -> None:
    strict = OAuthHttp(allow_private=False, require_https=False)
    try:
        with pytest.raises(OAuthUnavailable, match="loopback"):
            await discover(strict, "http://mcp.example/mcp", _challenge(_prm_url(protected)))
    finally:
        await strict.aclose()
    assert protected.statuses == {}
