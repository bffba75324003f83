"""Shared JWS plumbing: header parsing, signature check, typed claims, lifetime and identity.

Signatures are checked by PyJWT (which the `mcp` SDK depends on too); everything else about a
token, the claims above all, is read here with msgspec.
"""

from __future__ import annotations

import binascii
import math
import time
from base64 import urlsafe_b64decode
from typing import Final, TypeVar

import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from faceplate.auth.claims import Identity, InvalidToken

# Far above any real ID or access token; bounds the work an unauthenticated caller can cause.
MAX_TOKEN_CHARS = 16_384
# users.email and users.subject_id are VARCHAR(255).
MAX_CLAIM_CHARS = 255

_T = TypeVar("_T")

Key = RSAPublicKey | bytes
"""A verification key: an issuer's RSA public key (RS256), or the dev secret (HS256)."""


class Header(msgspec.Struct, frozen=True):
    alg: str
    kid: str | None = None


_HEADER = msgspec.json.Decoder(Header)
# Only the signature: the claims are PyJWS's opaque payload, decoded below by msgspec.
_JWS: Final = jwt.PyJWS()


def _b64url(segment: str) -> bytes:
    return urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def parse_header(token: str) -> Header:
    """The unverified JOSE header; raises InvalidToken unless the token has the JWS shape."""
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken("token too long")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise InvalidToken("not a compact JWS")
    try:
        return _HEADER.decode(_b64url(parts[0]))
    except (binascii.Error, ValueError, msgspec.DecodeError, RecursionError) as e:
        raise InvalidToken(f"malformed header: {e}") from e


def verified_payload(token: str, key: Key, alg: str) -> bytes:
    """The payload bytes once the signature checks out with `key` under exactly `alg`."""
    try:
        payload: bytes = _JWS.decode(token, key, algorithms=[alg])
    except (jwt.PyJWTError, ValueError, RecursionError) as e:
        raise InvalidToken(f"signature rejected: {e}") from e
    return payload


def decode_claims(payload: bytes, decoder: msgspec.json.Decoder[_T]) -> _T:
    """Typed claims; a missing required claim or a wrong type raises InvalidToken."""
    try:
        return decoder.decode(payload)
    except (msgspec.DecodeError, RecursionError) as e:
        raise InvalidToken(f"bad claims: {e}") from e


def check_lifetime(exp: float, nbf: float | None, leeway_s: float) -> None:
    """Raise InvalidToken when `now` is past `exp` or before `nbf`, beyond `leeway_s`."""
    now = time.time()
    if not math.isfinite(exp) or now >= exp + leeway_s:
        raise InvalidToken("token expired")
    if nbf is not None and (not math.isfinite(nbf) or nbf > now + leeway_s):
        raise InvalidToken("token not valid yet (nbf)")


def identity(sub: str, email: str, exp: float) -> Identity:
    """The Identity of non-blank `sub` and `email` claims (each at most 255 characters)."""
    if not sub.strip():
        raise InvalidToken("empty sub claim")
    if not email.strip():
        raise InvalidToken("empty email claim")
    if len(sub) > MAX_CLAIM_CHARS:
        raise InvalidToken(f"sub claim over {MAX_CLAIM_CHARS} characters")
    if len(email) > MAX_CLAIM_CHARS:
        raise InvalidToken(f"email claim over {MAX_CLAIM_CHARS} characters")
    return Identity(subject=sub, email=email, expires_at=exp)
