"""Verified tokens kept for a while, so that a client's every request does not check the same
signature again."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from faceplate.auth.claims import Identity

if TYPE_CHECKING:
    from faceplate.auth import Verifier

KEPT_S: Final = 60.0
MAX_KEPT: Final = 10_000


class KeptVerifier:
    """A Verifier that remembers the Identity of each token `inner` accepted, for `kept_s` at
    most and never past the token's own `exp`, for at most `max_kept` tokens (the oldest go
    first).

    A token is known by a 16-byte BLAKE2b digest, so the memory is bounded whatever the
    tokens' length. Only accepted tokens are kept: a rejected one is checked again on every
    request, with the reason logged each time. A kept token is answered without `inner`, so an
    issuer's key withdrawn from its JWKS stops its tokens within `kept_s` rather than at once.
    """

    def __init__(
        self,
        inner: Verifier,
        *,
        kept_s: float = KEPT_S,
        max_kept: int = MAX_KEPT,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if max_kept < 1:
            raise ValueError("max_kept must be at least 1")
        self._inner = inner
        self._kept_s = kept_s
        self._max = max_kept
        self._clock = clock
        self._wall = wall
        self._kept: dict[bytes, tuple[Identity, float]] = {}

    async def verify(self, token: str) -> Identity:
        key = hashlib.blake2b(token.encode(), digest_size=16).digest()
        kept = self._kept.get(key)
        now = self._clock()
        if kept is not None:
            identity, until = kept
            # Strictly before `exp`: within the issuer's leeway the inner verifier judges.
            if now < until and self._wall() < identity.expires_at:
                return identity
            del self._kept[key]
        identity = await self._inner.verify(token)
        if len(self._kept) >= self._max:
            del self._kept[next(iter(self._kept))]
        self._kept[key] = (identity, now + self._kept_s)
        return identity

    def __len__(self) -> int:
        return len(self._kept)

    async def aclose(self) -> None:
        self._kept.clear()
        await self._inner.aclose()
