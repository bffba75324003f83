"""CognitoVerifier's JWKS cache: one fetch at a time, rate-limited refetches, rotation, outages."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from faceplate.auth import InvalidToken
from faceplate.auth.cognito import CognitoVerifier
from tests.support.jwks import (
    DEFAULT_CLIENT_ID,
    DEFAULT_SUB,
    JwksServer,
    SigningKey,
    id_token,
    rs256_token,
)


@asynccontextmanager
async def make_verifier(
    jwks: JwksServer, *, jwks_url: str | None = None, **kwargs: Any
) -> AsyncIterator[CognitoVerifier]:
    v = CognitoVerifier(jwks.issuer, jwks_url or jwks.jwks_url, [DEFAULT_CLIENT_ID], **kwargs)
    try:
        yield v
    finally:
        await v.aclose()


async def test_keys_are_fetched_once(
    verifier: CognitoVerifier, jwks: JwksServer, key: SigningKey
) -> None:
    for _ in range(5):
        await verifier.verify(id_token(key, issuer=jwks.issuer))
    assert jwks.hits == 1


async def test_unknown_kids_refetch_at_most_once_per_interval(
    jwks: JwksServer, key: SigningKey
) -> None:
    async with make_verifier(jwks, min_refetch_interval_s=0.5) as verifier:
        await verifier.verify(id_token(key, issuer=jwks.issuer))
        assert jwks.hits == 1
        for i in range(10):  # within the interval of the first fetch: no fetch at all
            with pytest.raises(InvalidToken, match="unknown kid"):
                await verifier.verify(rs256_token(key, {}, header={"kid": f"nope-{i}"}))
        assert jwks.hits == 1
        await asyncio.sleep(0.6)
        for i in range(10):
            with pytest.raises(InvalidToken, match="unknown kid"):
                await verifier.verify(rs256_token(key, {}, header={"kid": f"nope-{i}"}))
        assert jwks.hits == 2
        await verifier.verify(id_token(key, issuer=jwks.issuer))
        assert jwks.hits == 2


async def test_concurrent_unknown_kids_share_one_fetch(jwks: JwksServer, key: SigningKey) -> None:
    async with make_verifier(jwks) as verifier:
        tokens = [rs256_token(key, {}, header={"kid": f"nope-{i}"}) for i in range(20)]
        results = await asyncio.gather(
            *(verifier.verify(t) for t in tokens), return_exceptions=True
        )
    assert all(isinstance(r, InvalidToken) for r in results)
    assert jwks.hits == 1


async def test_cold_cache_concurrent_verifies_share_one_fetch(
    jwks: JwksServer, key: SigningKey
) -> None:
    async with make_verifier(jwks) as verifier:
        token = id_token(key, issuer=jwks.issuer)
        identities = await asyncio.gather(*(verifier.verify(token) for _ in range(20)))
    assert {i.subject for i in identities} == {DEFAULT_SUB}
    assert jwks.hits == 1


async def test_rotated_key_is_picked_up_with_one_refetch(
    jwks: JwksServer, key: SigningKey, second_key: SigningKey
) -> None:
    async with make_verifier(jwks, min_refetch_interval_s=0.2) as verifier:
        await verifier.verify(id_token(key, issuer=jwks.issuer))
        jwks.publish([key, second_key])
        await asyncio.sleep(0.3)
        for _ in range(3):
            await verifier.verify(id_token(second_key, issuer=jwks.issuer))
        await verifier.verify(id_token(key, issuer=jwks.issuer))
        assert jwks.hits == 2


async def test_a_key_removed_from_the_jwks_is_dropped_on_refetch(
    jwks: JwksServer, key: SigningKey, second_key: SigningKey
) -> None:
    async with make_verifier(jwks, min_refetch_interval_s=0.2) as verifier:
        await verifier.verify(id_token(key, issuer=jwks.issuer))
        jwks.publish([second_key])
        await asyncio.sleep(0.3)
        await verifier.verify(id_token(second_key, issuer=jwks.issuer))
        with pytest.raises(InvalidToken, match="unknown kid"):
            await verifier.verify(id_token(key, issuer=jwks.issuer))


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/pool/.well-known/jwks.json"


async def test_jwks_unreachable_gives_invalid_token(jwks: JwksServer, key: SigningKey) -> None:
    async with make_verifier(jwks, jwks_url=closed_port_url()) as verifier:
        with pytest.raises(InvalidToken, match="JWKS unavailable"):
            await verifier.verify(id_token(key, issuer=jwks.issuer))


async def test_jwks_error_status_gives_invalid_token_then_recovers(
    jwks: JwksServer, key: SigningKey
) -> None:
    jwks.failing = True
    async with make_verifier(jwks, min_refetch_interval_s=0.2) as verifier:
        with pytest.raises(InvalidToken, match="JWKS unavailable"):
            await verifier.verify(id_token(key, issuer=jwks.issuer))
        jwks.failing = False
        await asyncio.sleep(0.3)
        await verifier.verify(id_token(key, issuer=jwks.issuer))
    assert jwks.hits == 2


async def test_jwks_without_usable_keys_gives_invalid_token(
    jwks: JwksServer, key: SigningKey
) -> None:
    jwks.publish([])
    async with make_verifier(jwks) as verifier:
        with pytest.raises(InvalidToken, match="no usable"):
            await verifier.verify(id_token(key, issuer=jwks.issuer))


async def test_concurrent_verifies_during_an_outage_share_one_fetch(
    jwks: JwksServer, key: SigningKey
) -> None:
    jwks.failing = True
    async with make_verifier(jwks) as verifier:
        token = id_token(key, issuer=jwks.issuer)
        results = await asyncio.gather(
            *(verifier.verify(token) for _ in range(10)), return_exceptions=True
        )
    assert all(isinstance(r, InvalidToken) for r in results)
    assert jwks.hits == 1
