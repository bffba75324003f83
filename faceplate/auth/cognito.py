"""Cognito (or any OIDC issuer) RS256 tokens, verified against the issuer's cached JWKS."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping, Sequence

import httpx
import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm

from faceplate.auth import _jwt
from faceplate.auth.claims import Identity, InvalidToken, IssuerUnavailable

_ALG = "RS256"
_MAX_LEEWAY_S = 60.0
# After a failed JWKS fetch, retry sooner than the refetch interval: a cold cache must recover.
_RETRY_AFTER_FAILURE_S = 5.0
# A JWKS document holds a few keys; anything this large is not one.
_MAX_JWKS_BYTES = 1024 * 1024
_POOL_ID = re.compile(r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)_[0-9A-Za-z]+")


def cognito_issuer(user_pool_id: str) -> str:
    """The issuer URL of a Cognito user pool id such as `eu-west-1_AbCdEf`."""
    match = _POOL_ID.fullmatch(user_pool_id)
    if match is None:
        raise ValueError(f"malformed Cognito user pool id: {user_pool_id!r}")
    return f"https://cognito-idp.{match['region']}.amazonaws.com/{user_pool_id}"


class _Jwk(msgspec.Struct, frozen=True):
    kty: str
    kid: str | None = None
    use: str | None = None
    alg: str | None = None
    n: str | None = None
    e: str | None = None


class _Jwks(msgspec.Struct, frozen=True):
    keys: list[_Jwk]


class _Claims(msgspec.Struct, frozen=True):
    iss: str
    sub: str
    exp: float
    token_use: str
    email: str
    nbf: float | None = None
    aud: str | list[str] | None = None
    client_id: str | None = None


_JWKS = msgspec.json.Decoder(_Jwks)
_CLAIMS = msgspec.json.Decoder(_Claims)


def _signing_keys(body: bytes) -> dict[str, RSAPublicKey]:
    """kid → constructed RS256 public key, for each usable key of a JWKS document."""
    keys: dict[str, RSAPublicKey] = {}
    for key in _JWKS.decode(body).keys:
        if key.kty != "RSA" or key.use not in (None, "sig") or key.alg not in (None, _ALG):
            continue
        if not key.kid or not key.n or not key.e:
            continue
        try:
            public = RSAAlgorithm.from_jwk({"kty": "RSA", "n": key.n, "e": key.e})
        except (jwt.PyJWTError, ValueError, TypeError):
            continue
        if isinstance(public, RSAPublicKey):
            keys[key.kid] = public
    return keys


class CognitoVerifier:
    """Verifies RS256 ID and access tokens of one issuer; owns an HTTP client (`aclose()` it).

    Keys are fetched once and cached as constructed key objects. A token with a kid not in the
    cache re-fetches the JWKS, at most once per `min_refetch_interval_s` and one fetch at a
    time; concurrent callers wait for that fetch and reuse its result. A fetch, body and all,
    is given `fetch_deadline_s` in total. While no fetch has succeeded, or the latest one
    failed, a kid not in the cache raises IssuerUnavailable rather than InvalidToken: an
    outage of the issuer is never taken for a bad token.
    """

    def __init__(
        self,
        issuer: str,
        jwks_url: str,
        client_ids: Sequence[str],
        *,
        leeway_s: float = 60,
        min_refetch_interval_s: float = 60.0,
        http_timeout_s: float = 5.0,
        fetch_deadline_s: float = 10.0,
    ) -> None:
        if not client_ids:
            raise ValueError("at least one client id is required")
        if not 0 <= leeway_s <= _MAX_LEEWAY_S:
            raise ValueError(f"leeway_s must be within 0..{_MAX_LEEWAY_S:g}")
        self._issuer = issuer
        self._jwks_url = jwks_url
        self._client_ids = frozenset(client_ids)
        self._leeway_s = float(leeway_s)
        self._min_refetch_interval_s = min_refetch_interval_s
        self._http = httpx.AsyncClient(timeout=http_timeout_s)
        self._fetch_deadline_s = fetch_deadline_s
        self._lock = asyncio.Lock()
        self._keys: Mapping[str, RSAPublicKey] = {}
        self._outage = True  # until a first fetch succeeds
        self._next_fetch_at = float("-inf")

    async def aclose(self) -> None:
        await self._http.aclose()

    async def verify(self, token: str) -> Identity:
        """The token's Identity; raises InvalidToken on any failure, a JWKS outage included
        once keys were fetched, and IssuerUnavailable before that."""
        header = _jwt.parse_header(token)
        if header.alg != _ALG:
            raise InvalidToken(f"algorithm {header.alg!r} not accepted")
        if not header.kid:
            raise InvalidToken("no kid in header")
        key = await self._key(header.kid)
        claims = _jwt.decode_claims(_jwt.verified_payload(token, key, _ALG), _CLAIMS)
        if claims.iss != self._issuer:
            raise InvalidToken("wrong issuer")
        _jwt.check_lifetime(claims.exp, claims.nbf, self._leeway_s)
        if claims.token_use == "id":
            audiences = [claims.aud] if isinstance(claims.aud, str) else claims.aud or []
            if not self._client_ids.intersection(audiences):
                raise InvalidToken("id token for another client (aud)")
        elif claims.token_use == "access":
            if claims.client_id not in self._client_ids:
                raise InvalidToken("access token for another client (client_id)")
        else:
            raise InvalidToken(f"token_use {claims.token_use!r} not accepted")
        return _jwt.identity(claims.sub, claims.email, claims.exp)

    async def _key(self, kid: str) -> RSAPublicKey:
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._lock:
            # Whoever held the lock may just have fetched the key we need.
            key = self._keys.get(kid)
            if key is None and time.monotonic() >= self._next_fetch_at:
                await self._refresh()
                key = self._keys.get(kid)
        if key is None:
            if self._outage:
                raise IssuerUnavailable("the token issuer's keys could not be fetched")
            raise InvalidToken("unknown kid")
        return key

    async def _refresh(self) -> None:
        """Replace the cached keys with the JWKS's; on failure keep them and raise
        IssuerUnavailable."""
        started = time.monotonic()
        self._next_fetch_at = started + min(self._min_refetch_interval_s, _RETRY_AFTER_FAILURE_S)
        try:
            async with asyncio.timeout(self._fetch_deadline_s):
                body = await self._fetch()
            keys = _signing_keys(body)
        except (httpx.HTTPError, msgspec.DecodeError, RecursionError, TimeoutError) as e:
            self._outage = True
            raise IssuerUnavailable(f"JWKS unavailable: {type(e).__name__}: {e}") from e
        if not keys:
            self._outage = True
            raise IssuerUnavailable("JWKS has no usable RS256 key")
        self._keys = keys
        self._outage = False
        self._next_fetch_at = started + self._min_refetch_interval_s

    async def _fetch(self) -> bytes:
        """The JWKS document, refused past _MAX_JWKS_BYTES without reading it whole."""
        async with self._http.stream("GET", self._jwks_url) as response:
            response.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > _MAX_JWKS_BYTES:
                    raise httpx.DecodingError(f"JWKS document over {_MAX_JWKS_BYTES} bytes")
                chunks.append(chunk)
        return b"".join(chunks)
