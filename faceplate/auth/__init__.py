"""Bearer-token verification: the Verifier protocol, its Identity and the InvalidToken error."""

from __future__ import annotations

import re
from typing import Final, Protocol

from faceplate.auth.claims import Identity, InvalidToken, IssuerUnavailable
from faceplate.auth.cognito import CognitoVerifier, cognito_issuer
from faceplate.auth.dev import DevVerifier
from faceplate.auth.kept import KeptVerifier

__all__ = [
    "CognitoVerifier",
    "DevVerifier",
    "Identity",
    "InvalidToken",
    "IssuerUnavailable",
    "KeptVerifier",
    "Verifier",
    "bearer_token",
    "cognito_issuer",
]


_WHITESPACE: Final = re.compile(r"\s")


class Verifier(Protocol):
    """Turns a bearer token into an Identity; `aclose()` releases what it holds."""

    async def verify(self, token: str) -> Identity: ...

    async def aclose(self) -> None: ...


def bearer_token(authorization_header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; raises InvalidToken otherwise."""
    if authorization_header is None:
        raise InvalidToken("no Authorization header")
    scheme, _, token = authorization_header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer":
        raise InvalidToken("Authorization scheme is not Bearer")
    if not token or _WHITESPACE.search(token):
        raise InvalidToken("malformed bearer token")
    return token
