"""KeptVerifier: a verified token is answered again without checking its signature, for a
bounded time, never past its `exp`, for a bounded number of tokens."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from faceplate.auth import Identity, InvalidToken, KeptVerifier
from faceplate.auth.dev import DevVerifier, load_or_create_secret, mint_token


class _Counting(DevVerifier):
    """The real dev verifier, counting the tokens it was asked to check."""

    def __init__(self, secret: bytes) -> None:
        super().__init__(secret)
        self.checked = 0
        self.closed = False

    async def verify(self, token: str) -> Identity:
        self.checked += 1
        return await super().verify(token)

    async def aclose(self) -> None:
        self.closed = True


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def secret(tmp_path: Path) -> bytes:
    return load_or_create_secret(tmp_path)


async def test_a_kept_token_is_not_checked_again(secret: bytes) -> None:
    inner = _Counting(secret)
    kept = KeptVerifier(inner)
    token = mint_token(secret, email="a@example.com")
    first = await kept.verify(token)
    again = await kept.verify(token)
    assert again == first
    assert first.email == "a@example.com"
    assert inner.checked == 1


async def test_a_token_is_checked_again_after_the_kept_time(secret: bytes) -> None:
    inner, clock = _Counting(secret), _Clock()
    kept = KeptVerifier(inner, kept_s=60, clock=clock)
    token = mint_token(secret, email="a@example.com")
    await kept.verify(token)
    clock.now += 59.9
    await kept.verify(token)
    assert inner.checked == 1
    clock.now += 0.2
    await kept.verify(token)
    assert inner.checked == 2


async def test_a_kept_token_past_its_exp_is_judged_by_the_issuer_again(secret: bytes) -> None:
    inner = _Counting(secret)
    wall = _Clock()
    wall.now = time.time()
    kept = KeptVerifier(inner, wall=wall)
    token = mint_token(secret, email="a@example.com", ttl_s=30)
    identity = await kept.verify(token)
    wall.now = identity.expires_at  # the kept identity ends at exp, leeway or not
    await kept.verify(token)  # the dev verifier's own leeway still accepts it
    assert inner.checked == 2


async def test_an_expired_token_is_refused_although_it_was_kept(secret: bytes) -> None:
    inner = _Counting(secret)
    wall = _Clock()
    wall.now = time.time()
    kept = KeptVerifier(inner, wall=wall)
    # Expired already, but within the dev verifier's 60 s leeway: accepted once, and kept.
    token = mint_token(secret, email="a@example.com", ttl_s=-30)
    await kept.verify(token)
    assert len(kept) == 1
    await kept.verify(token)  # past its exp: not answered from what was kept
    assert inner.checked == 2


async def test_rejected_tokens_are_not_kept(secret: bytes) -> None:
    inner = _Counting(secret)
    kept = KeptVerifier(inner)
    forged = mint_token(b"x" * 32, email="a@example.com")
    for _ in range(2):
        with pytest.raises(InvalidToken):
            await kept.verify(forged)
    assert inner.checked == 2
    assert len(kept) == 0


async def test_the_oldest_token_goes_first_when_full(secret: bytes) -> None:
    inner = _Counting(secret)
    kept = KeptVerifier(inner, max_kept=2)
    tokens = [mint_token(secret, email=f"u{n}@example.com") for n in range(3)]
    for token in tokens:
        await kept.verify(token)
    assert len(kept) == 2
    await kept.verify(tokens[2])
    await kept.verify(tokens[1])
    assert inner.checked == 3
    await kept.verify(tokens[0])  # the first was dropped for the third
    assert inner.checked == 4


async def test_closing_closes_the_inner_verifier(secret: bytes) -> None:
    inner = _Counting(secret)
    kept = KeptVerifier(inner)
    await kept.verify(mint_token(secret, email="a@example.com"))
    await kept.aclose()
    assert inner.closed
    assert len(kept) == 0


def test_at_least_one_token_is_kept() -> None:
    with pytest.raises(ValueError, match="max_kept"):
        KeptVerifier(DevVerifier(b"k" * 32), max_kept=0)
