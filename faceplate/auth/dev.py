"""Dev-mode HS256 tokens, signed with a secret generated once into the data directory."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import time
from pathlib import Path

import jwt
import msgspec

from faceplate.auth import _jwt
from faceplate.auth.claims import Identity, InvalidToken

DEV_ISSUER = "faceplate-dev"
SECRET_FILE = "dev-token-secret"
SECRET_BYTES = 32
_ALG = "HS256"
_LEEWAY_S = 60.0
_THIRTY_DAYS_S = 30 * 24 * 3600


def load_or_create_secret(data_dir: Path) -> bytes:
    """The dev signing secret in `data_dir`, created there (0600) on first use.

    Several processes starting at once agree on one secret: it is written to a temporary file
    and hard-linked into place, so a reader never sees a partial file.
    """
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=f".{SECRET_FILE}.")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(SECRET_BYTES))
                f.flush()
                os.fsync(f.fileno())
            with contextlib.suppress(FileExistsError):  # another process won the race
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    secret = path.read_bytes()
    if len(secret) != SECRET_BYTES:
        raise ValueError(f"{path} must hold exactly {SECRET_BYTES} bytes; delete it to regenerate")
    return secret


def mint_token(
    secret: bytes,
    *,
    email: str,
    subject: str | None = None,
    ttl_s: int = _THIRTY_DAYS_S,
) -> str:
    """A dev bearer token for `email`; the subject defaults to `dev|<email>`."""
    if not email.strip():
        raise ValueError("email must not be empty")
    now = int(time.time())
    claims = {
        "sub": subject if subject is not None else f"dev|{email}",
        "email": email,
        "iat": now,
        "exp": now + ttl_s,
        "iss": DEV_ISSUER,
    }
    token: str = jwt.encode(claims, secret, algorithm=_ALG)
    return token


class _Claims(msgspec.Struct, frozen=True):
    sub: str
    email: str
    exp: float
    nbf: float | None = None


_CLAIMS = msgspec.json.Decoder(_Claims)


class DevVerifier:
    """Verifies HS256 tokens made by `mint_token` with the same secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < SECRET_BYTES:
            raise ValueError(f"the dev secret must be at least {SECRET_BYTES} bytes")
        self._key = secret

    async def aclose(self) -> None:
        return None

    async def verify(self, token: str) -> Identity:
        """The token's Identity; raises InvalidToken on any failure."""
        header = _jwt.parse_header(token)
        if header.alg != _ALG:
            raise InvalidToken(f"algorithm {header.alg!r} not accepted")
        claims = _jwt.decode_claims(_jwt.verified_payload(token, self._key, _ALG), _CLAIMS)
        _jwt.check_lifetime(claims.exp, claims.nbf, _LEEWAY_S)
        return _jwt.identity(claims.sub, claims.email, claims.exp)
