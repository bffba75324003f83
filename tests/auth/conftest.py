"""Fixtures for token verification tests: RSA keys, a live JWKS server, a verifier."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from faceplate.auth.cognito import CognitoVerifier
from tests.support.jwks import DEFAULT_CLIENT_ID, SECOND_CLIENT_ID, JwksServer


@pytest.fixture
async def verifier(jwks: JwksServer) -> AsyncIterator[CognitoVerifier]:
    v = CognitoVerifier(jwks.issuer, jwks.jwks_url, [DEFAULT_CLIENT_ID, SECOND_CLIENT_ID])
    yield v
    await v.aclose()
