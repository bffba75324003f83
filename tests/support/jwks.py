"""RSA signing keys, RS256 token minting and a live JWKS server on 127.0.0.1 for tests."""

from __future__ import annotations

import base64
import hmac
import json
import threading
import time
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.server import ServerThread

DEFAULT_CLIENT_ID = "test-client"
SECOND_CLIENT_ID = "second-test-client"
DEFAULT_SUB = "11111111-2222-3333-4444-555555555555"
DEFAULT_EMAIL = "user@example.com"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint_b64url(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass(frozen=True)
class SigningKey:
    """An RSA key pair known by `kid`."""

    kid: str
    private_key: rsa.RSAPrivateKey = field(repr=False)

    @property
    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def public_jwk(self) -> dict[str, str]:
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": _uint_b64url(numbers.n),
            "e": _uint_b64url(numbers.e),
        }

    def sign(self, signing_input: bytes) -> bytes:
        return self.private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())


def new_signing_key(kid: str | None = None) -> SigningKey:
    """A fresh 2048-bit RSA key pair; the kid defaults to a random one."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKey(kid=kid or f"kid-{uuid.uuid4().hex[:12]}", private_key=private)


def encode_jws(header: Mapping[str, Any], claims: Mapping[str, Any], signature: bytes) -> str:
    """`header.claims.signature`, base64url-encoded, with a signature computed by the caller."""
    head = b64url(json.dumps(dict(header)).encode())
    body = b64url(json.dumps(dict(claims)).encode())
    return f"{head}.{body}.{b64url(signature)}"


def signing_input(header: Mapping[str, Any], claims: Mapping[str, Any]) -> bytes:
    return encode_jws(header, claims, b"").rsplit(".", 1)[0].encode("ascii")


def rs256_token(
    key: SigningKey, claims: Mapping[str, Any], *, header: Mapping[str, Any] | None = None
) -> str:
    """An RS256 JWT of arbitrary claims; `header` entries override `alg`, `typ` and `kid`."""
    head = {"alg": "RS256", "typ": "JWT", "kid": key.kid, **(header or {})}
    return encode_jws(head, claims, key.sign(signing_input(head, claims)))


def hs256_token(
    secret: bytes, claims: Mapping[str, Any], *, header: Mapping[str, Any] | None = None
) -> str:
    """An HS256 JWT signed with any bytes as the secret (a public key PEM, for forgery tests)."""
    head = {"alg": "HS256", "typ": "JWT", **(header or {})}
    mac = hmac.digest(secret, signing_input(head, claims), "sha256")
    return encode_jws(head, claims, mac)


def unsigned_token(claims: Mapping[str, Any], *, header: Mapping[str, Any] | None = None) -> str:
    """An `alg: none` JWT with an empty signature."""
    return encode_jws({"alg": "none", "typ": "JWT", **(header or {})}, claims, b"")


def cognito_claims(
    token_use: Literal["id", "access"],
    /,
    *,
    issuer: str,
    client_id: str = DEFAULT_CLIENT_ID,
    sub: str = DEFAULT_SUB,
    email: str = DEFAULT_EMAIL,
    ttl_s: int = 3600,
    drop: Collection[str] = (),
    **extra: Any,
) -> dict[str, Any]:
    """Claims shaped like Cognito's; `extra` adds or overrides claims, `drop` removes them."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "iss": issuer,
        "token_use": token_use,
        "auth_time": now,
        "iat": now,
        "exp": now + ttl_s,
        "jti": str(uuid.uuid4()),
        "origin_jti": str(uuid.uuid4()),
        "event_id": str(uuid.uuid4()),
        "email": email,
    }
    if token_use == "id":
        claims |= {
            "aud": client_id,
            "email_verified": True,
            "cognito:username": sub,
            "at_hash": b64url(uuid.uuid4().bytes),
        }
    else:
        claims |= {
            "client_id": client_id,
            "scope": "openid email aws.cognito.signin.user.admin",
            "username": sub,
        }
    claims |= extra
    for name in drop:
        claims.pop(name, None)
    return claims


def id_token(key: SigningKey, *, issuer: str, drop: Collection[str] = (), **claims: Any) -> str:
    """A signed Cognito-style ID token; keyword claims override the defaults."""
    return rs256_token(key, cognito_claims("id", issuer=issuer, drop=drop, **claims))


def access_token(key: SigningKey, *, issuer: str, drop: Collection[str] = (), **claims: Any) -> str:
    """A signed Cognito-style access token (with an `email` claim); keywords override claims."""
    return rs256_token(key, cognito_claims("access", issuer=issuer, drop=drop, **claims))


class JwksServer:
    """A JWKS endpoint served by uvicorn in a background thread, on a free 127.0.0.1 port.

    `issuer` is a URL whose `{issuer}/.well-known/jwks.json` serves the published keys, so the
    default JWKS URL derivation applies. `hits` counts JWKS requests; `failing` answers 503.
    Use it as a context manager, or call `start()` and `stop()`.
    """

    def __init__(self, keys: Iterable[SigningKey] = ()) -> None:
        self._lock = threading.Lock()
        self._jwks: dict[str, Any] = {"keys": []}
        self._hits = 0
        self.failing = False
        self.publish(keys)
        app = Starlette(routes=[Route("/pool/.well-known/jwks.json", self._endpoint)])
        self._server = ServerThread(app, name="jwks-server")
        self.port: int = self._server.port

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}/pool"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"

    @property
    def hits(self) -> int:
        with self._lock:
            return self._hits

    def reset_hits(self) -> None:
        with self._lock:
            self._hits = 0

    def publish(self, keys: Iterable[SigningKey]) -> None:
        """Serve exactly these keys from now on."""
        jwks = {"keys": [key.public_jwk() for key in keys]}
        with self._lock:
            self._jwks = jwks

    def start(self) -> JwksServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> JwksServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def _endpoint(self, request: Request) -> Response:
        with self._lock:
            self._hits += 1
            jwks, failing = self._jwks, self.failing
        if failing:
            return JSONResponse({"message": "unavailable"}, status_code=503)
        return JSONResponse(jwks)
