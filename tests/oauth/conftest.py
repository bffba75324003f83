"""Fixtures of the OAuth tests: a test authorization server, an MCP server it protects, and
the flow against the test database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from cryptography.fernet import Fernet

from faceplate.db import Database
from faceplate.mcp_client.oauth.flow import OAuthFlow, OAuthSettings
from faceplate.secrets import SecretBox
from tests.oauth.helpers import REDIRECT_URI, Owner, make_owner
from tests.support.oauth_server import AuthorizationServer
from tests.support.protected_mcp import ProtectedMcpServer


@pytest.fixture
def auth() -> Iterator[AuthorizationServer]:
    with AuthorizationServer() as server:
        yield server


@pytest.fixture
def protected(auth: AuthorizationServer) -> Iterator[ProtectedMcpServer]:
    with ProtectedMcpServer(auth) as server:
        yield server


@pytest.fixture(scope="session")
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key().decode())


@pytest.fixture
def oauth_settings() -> OAuthSettings:
    return OAuthSettings(redirect_uri=REDIRECT_URI, allow_private=True)


@pytest.fixture
async def flow(
    db: Database, box: SecretBox, oauth_settings: OAuthSettings
) -> AsyncIterator[OAuthFlow]:
    oauth = OAuthFlow(db, box, oauth_settings)
    try:
        yield oauth
    finally:
        await oauth.aclose()


@pytest.fixture
async def owner(db: Database, protected: ProtectedMcpServer) -> Owner:
    return await make_owner(db, protected.url)
