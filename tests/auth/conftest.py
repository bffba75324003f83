"""Fixtures for token verification tests: RSA keys, a live JWKS server, a verifier."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from faceplate.auth.cognito import CognitoVerifier
from tests.support.jwks import (
    DEFAULT_CLIENT_ID,
    SECOND_CLIENT_ID,
    JwksServer,
    SigningKey,
    new_signing_key,
)


@pytest.fixture(scope="session")
def key() -> SigningKey:
    return new_signing_key("key-a")


@pytest.fixture(scope="session")
def second_key() -> SigningKey:
    return new_signing_key("key-b")


@pytest.fixture(scope="session")
def session_jwks(key: SigningKey) -> Iterator[JwksServer]:
    with JwksServer([key]) as server:
        yield server


@pytest.fixture
def jwks(session_jwks: JwksServer, key: SigningKey) -> JwksServer:
    """The session's JWKS server, reset to publish `key` only, with a zero hit count."""
    session_jwks.publish([key])
    session_jwks.failing = False
    session_jwks.reset_hits()
    return session_jwks


@pytest.fixture
async def verifier(jwks: JwksServer) -> AsyncIterator[CognitoVerifier]:
    v = CognitoVerifier(jwks.issuer, jwks.jwks_url, [DEFAULT_CLIENT_ID, SECOND_CLIENT_ID])
    yield v
    await v.aclose()
