"""Driving the OAuth flow as a browser would, and reading what it stored."""

from __future__ import annotations

import http.client
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from uuid import UUID

import httpx2
from mcp.client import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from uuid6 import uuid7

from faceplate.db import Database
from faceplate.mcp_client.oauth.bearer import OAuthBearer
from faceplate.mcp_client.oauth.flow import Connected, OAuthFlow
from faceplate.mcp_client.oauth.tokens import TokenKeeper
from faceplate.queries.mcp_configs import create_mcp_config
from faceplate.structs import HttpConfig, OAuthClient, SseConfig
from tests.sql.factories import make_user

# Where the browser would come back to; the tests read the redirect instead of following it.
REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"


@dataclass(frozen=True)
class Owner:
    user_id: UUID
    config_id: UUID
    config: HttpConfig | SseConfig


async def make_owner(
    db: Database,
    url: str,
    *,
    name: str = "ada",
    oauth: OAuthClient | None = None,
    sse: bool = False,
) -> Owner:
    """A user with one streamable HTTP (or SSE) config pointing at `url`."""
    kind = SseConfig if sse else HttpConfig
    config = kind(url=url) if oauth is None else kind(url=url, oauth=oauth)
    async with db.connection() as conn:
        user = await make_user(conn, name)
        row = await create_mcp_config(
            conn,
            id=uuid7(),
            user_id=user.id,
            name="tracker",
            config=config,
            enabled=True,
            max_configs=50,
            tool_approval="never",
            tool_policies={},
        )
        assert row is not None
    return Owner(user_id=user.id, config_id=row.id, config=config)


def query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def approve(authorization_url: str) -> dict[str, str]:
    """Open the authorization URL as the browser would; the parameters it is sent back with.

    (Plain http.client: the browser's own requests are not the service's, and log nothing.)
    """
    parts = urlsplit(authorization_url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}")
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    assert response.status == 302, response.status
    location = response.getheader("location") or ""
    assert location.startswith(REDIRECT_URI)
    return query(location)


async def connect(flow: OAuthFlow, owner: Owner) -> Connected:
    """The whole flow: start, the browser's approval, the callback."""
    url = await flow.start(owner.user_id, owner.config_id, owner.config)
    return await flow.callback(approve(url))


@asynccontextmanager
async def session(tokens: TokenKeeper, owner: Owner) -> AsyncIterator[tuple[Client, OAuthBearer]]:
    """An MCP client of the owner's config whose requests carry its access token."""
    bearer = OAuthBearer(tokens, owner.user_id, owner.config_id)
    if isinstance(owner.config, SseConfig):
        async with Client(sse_client(owner.config.url, auth=bearer), cache=None) as client:
            yield client, bearer
        return
    async with httpx2.AsyncClient(auth=bearer, timeout=10) as http:
        transport = streamable_http_client(owner.config.url, http_client=http)
        async with Client(transport, cache=None) as client:
            yield client, bearer


def text_of(result: Any) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


class Hits:
    """Paths a tiny server was asked for."""

    def __init__(self) -> None:
        self.paths: list[str] = []


def tiny_app(routes: dict[str, Callable[[Request], Response]], hits: Hits) -> Starlette:
    """An app answering each path with its function (any method), recording every request."""

    async def endpoint(request: Request) -> Response:
        hits.paths.append(request.url.path)
        return routes[request.url.path](request)

    return Starlette(routes=[Route(path, endpoint, methods=["GET", "POST"]) for path in routes])
