"""CognitoVerifier's JWKS cache: one fetch at a time, rate-limited refetches, rotation, outages.

An outage of the issuer is IssuerUnavailable (503), never InvalidToken (401): a client must
not drop its session because the issuer's keys could not be fetched.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from faceplate.auth import InvalidToken, IssuerUnavailable
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


async def test_jwks_unreachable_gives_issuer_unavailable(jwks: JwksServer, key: SigningKey) -> None:
    async with make_verifier(jwks, jwks_url=closed_port_url()) as verifier:
        with pytest.raises(IssuerUnavailable, match="JWKS unavailable"):
            await verifier.verify(id_token(key, issuer=jwks.issuer))


async def test_until_a_first_fetch_succeeds_every_token_is_issuer_unavailable(
    jwks: JwksServer, key: SigningKey
) -> None:
    jwks.failing = True
    async with make_verifier(jwks, min_refetch_interval_s=60) as verifier:
        with pytest.raises(IssuerUnavailable):
            await verifier.verify(id_token(key, issuer=jwks.issuer))
        # No refetch is due yet: still no keys, still not a verdict on the token.
        with pytest.raises(IssuerUnavailable):
            await verifier.verify(id_token(key, issuer=jwks.issuer))
    assert jwks.hits == 1


async def test_an_outage_after_keys_were_fetched_keeps_known_keys_working(
    jwks: JwksServer, key: SigningKey, second_key: SigningKey
) -> None:
    async with make_verifier(jwks, min_refetch_interval_s=0.2) as verifier:
        await verifier.verify(id_token(key, issuer=jwks.issuer))
        jwks.failing = True
        await asyncio.sleep(0.3)
        with pytest.raises(IssuerUnavailable):
            await verifier.verify(id_token(second_key, issuer=jwks.issuer))
        assert (await verifier.verify(id_token(key, issuer=jwks.issuer))).subject == DEFAULT_SUB


async def test_a_jwks_fetch_has_a_total_deadline(jwks: JwksServer, key: SigningKey) -> None:
    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
        writer.write(b"content-length: 100000000\r\n\r\n{")
        try:
            while True:  # a byte now and then: no read ever times out
                await asyncio.sleep(0.05)
                writer.write(b" ")
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            writer.close()

    server = await asyncio.start_server(drip, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/pool/.well-known/jwks.json"
    try:
        async with (
            asyncio.timeout(20),
            make_verifier(jwks, jwks_url=url, fetch_deadline_s=0.5) as verifier,
        ):
            with pytest.raises(IssuerUnavailable, match="TimeoutError"):
                await verifier.verify(id_token(key, issuer=jwks.issuer))
    finally:
        server.close()


async def test_a_jwks_document_past_a_mebibyte_is_refused(
    jwks: JwksServer, key: SigningKey
) -> None:
    async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
        writer.write(b"transfer-encoding: chunked\r\n\r\n")
        chunk = b"x" * 65536
        try:
            for _ in range(64):
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    server = await asyncio.start_server(huge, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/pool/.well-known/jwks.json"
    try:
        async with make_verifier(jwks, jwks_url=url) as verifier:
            with pytest.raises(IssuerUnavailable, match="over 1048576 bytes"):
                await verifier.verify(id_token(key, issuer=jwks.issuer))
    finally:
        server.close()


async def test_jwks_error_status_gives_issuer_unavailable_then_recovers(
    jwks: JwksServer, key: SigningKey
) -> None:
    jwks.failing = True
    async with make_verifier(jwks, min_refetch_interval_s=0.2) as verifier:
        with pytest.raises(IssuerUnavailable, match="JWKS unavailable"):
            await verifier.verify(id_token(key, issuer=jwks.issuer))
        jwks.failing = False
        await asyncio.sleep(0.3)
        await verifier.verify(id_token(key, issuer=jwks.issuer))
    assert jwks.hits == 2


async def test_jwks_without_usable_keys_gives_issuer_unavailable(
    jwks: JwksServer, key: SigningKey
) -> None:
    jwks.publish([])
    async with make_verifier(jwks) as verifier:
        with pytest.raises(IssuerUnavailable, match="no usable"):
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
    assert all(isinstance(r, IssuerUnavailable) for r in results)
    assert jwks.hits == 1
