"""Dev-mode HS256 tokens: the persisted secret, minting and verification."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from faceplate.auth import InvalidToken
from faceplate.auth.dev import SECRET_FILE, DevVerifier, load_or_create_secret, mint_token
from tests.support.jwks import hs256_token, new_signing_key, rs256_token, unsigned_token


@pytest.fixture
def secret(tmp_path: Path) -> bytes:
    return load_or_create_secret(tmp_path)


def test_secret_is_created_once_with_private_permissions(tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "nested"
    secret = load_or_create_secret(data_dir)
    path = data_dir / SECRET_FILE
    assert len(secret) == 32
    assert path.read_bytes() == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in data_dir.iterdir()] == [SECRET_FILE]


def test_secret_is_reused(tmp_path: Path) -> None:
    assert load_or_create_secret(tmp_path) == load_or_create_secret(tmp_path)


def test_a_truncated_secret_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE).write_bytes(b"short")
    with pytest.raises(ValueError, match="32 bytes"):
        load_or_create_secret(tmp_path)


async def test_minted_token_verifies(secret: bytes) -> None:
    token = mint_token(secret, email="dev@example.com", ttl_s=600)
    identity = await DevVerifier(secret).verify(token)
    assert (identity.subject, identity.email) == ("dev|dev@example.com", "dev@example.com")
    assert time.time() + 590 < identity.expires_at <= time.time() + 600


async def test_explicit_subject_is_kept(secret: bytes) -> None:
    token = mint_token(secret, email="dev@example.com", subject="user-42")
    assert (await DevVerifier(secret).verify(token)).subject == "user-42"


async def test_token_from_a_restarted_process_still_verifies(tmp_path: Path) -> None:
    token = mint_token(load_or_create_secret(tmp_path), email="dev@example.com")
    await DevVerifier(load_or_create_secret(tmp_path)).verify(token)


async def test_wrong_secret_is_rejected(secret: bytes, tmp_path: Path) -> None:
    token = mint_token(load_or_create_secret(tmp_path / "other"), email="dev@example.com")
    with pytest.raises(InvalidToken, match="signature"):
        await DevVerifier(secret).verify(token)


async def test_expired_token_is_rejected(secret: bytes) -> None:
    token = mint_token(secret, email="dev@example.com", ttl_s=-120)
    with pytest.raises(InvalidToken, match="expired"):
        await DevVerifier(secret).verify(token)


async def test_expiry_within_leeway_passes(secret: bytes) -> None:
    await DevVerifier(secret).verify(mint_token(secret, email="dev@example.com", ttl_s=-30))


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"email": "a@example.com", "exp": 2**40}, "`sub`"),
        ({"sub": "a", "exp": 2**40}, "`email`"),
        ({"sub": "a", "email": "a@example.com"}, "`exp`"),
        ({"sub": "a", "email": "", "exp": 2**40}, "email"),
        ({"sub": "a", "email": "a@example.com", "exp": 2**40, "nbf": 2**40}, "nbf"),
    ],
)
async def test_incomplete_claims_are_rejected(
    secret: bytes, claims: dict[str, object], reason: str
) -> None:
    with pytest.raises(InvalidToken, match=reason):
        await DevVerifier(secret).verify(hs256_token(secret, claims))


async def test_other_algorithms_are_rejected(secret: bytes) -> None:
    claims = {"sub": "a", "email": "a@example.com", "exp": int(time.time()) + 60}
    verifier = DevVerifier(secret)
    for token in (unsigned_token(claims), rs256_token(new_signing_key(), claims)):
        with pytest.raises(InvalidToken, match="algorithm"):
            await verifier.verify(token)


async def test_malformed_token_is_rejected(secret: bytes) -> None:
    with pytest.raises(InvalidToken):
        await DevVerifier(secret).verify("not-a-token")


def test_mint_requires_an_email(secret: bytes) -> None:
    with pytest.raises(ValueError, match="email"):
        mint_token(secret, email="")


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        DevVerifier(b"too short")
