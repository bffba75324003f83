"""CognitoVerifier against RS256 tokens and a JWKS served over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from faceplate.auth import Identity, InvalidToken
from faceplate.auth.cognito import CognitoVerifier, cognito_issuer
from tests.support.jwks import (
    DEFAULT_CLIENT_ID,
    DEFAULT_EMAIL,
    DEFAULT_SUB,
    SECOND_CLIENT_ID,
    JwksServer,
    SigningKey,
    access_token,
    b64url,
    cognito_claims,
    hs256_token,
    id_token,
    new_signing_key,
    rs256_token,
    unsigned_token,
)


async def test_id_token_passes(
    verifier: CognitoVerifier, jwks: JwksServer, key: SigningKey
) -> None:
    token = id_token(key, issuer=jwks.issuer, exp=2_000_000_000)
    identity = await verifier.verify(token)
    assert identity == Identity(subject=DEFAULT_SUB, email=DEFAULT_EMAIL, expires_at=2e9)


async def test_access_token_passes(
    verifier: CognitoVerifier, jwks: JwksServer, key: SigningKey
) -> None:
    token = access_token(key, issuer=jwks.issuer, sub="abc", email="a@example.com", exp=2e9)
    identity = await verifier.verify(token)
    assert identity == Identity(subject="abc", email="a@example.com", expires_at=2e9)


async def test_any_configured_client_id_is_accepted(
    verifier: CognitoVerifier, jwks: JwksServer, key: SigningKey
) -> None:
    await verifier.verify(id_token(key, issuer=jwks.issuer, client_id=SECOND_CLIENT_ID))
    await verifier.verify(access_token(key, issuer=jwks.issuer, client_id=SECOND_CLIENT_ID))


async def test_aud_as_a_list_is_accepted(
    verifier: CognitoVerifier, jwks: JwksServer, key: SigningKey
) -> None:
    await verifier.verify(
        id_token(key, issuer=jwks.issuer, aud=["someone-else", DEFAULT_CLIENT_ID])
    )


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "..",
        "!!!.???.***",
        b64url(b"[1]") + "." + b64url(b"{}") + ".sig",
        b64url(b'{"alg": 5}') + "." + b64url(b"{}") + ".sig",
        b64url(b'{"alg": "RS256", "kid": "key-a", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}")
        + ".e30.sig",
        "x" * 20_000,
    ],
)
async def test_malformed_token_is_rejected(verifier: CognitoVerifier, token: str) -> None:
    with pytest.raises(InvalidToken):
        await verifier.verify(token)


async def test_non_json_payload_is_rejected(verifier: CognitoVerifier, key: SigningKey) -> None:
    header = b64url(b'{"alg": "RS256", "kid": "key-a"}')
    signing_input = f"{header}.{b64url(b'not json')}"
    token = f"{signing_input}.{b64url(key.sign(signing_input.encode()))}"
    with pytest.raises(InvalidToken, match="bad claims"):
        await verifier.verify(token)


Claims = Callable[[str], dict[str, Any]]

# name: (claims for an issuer, the reason InvalidToken must give)
REJECTED_CLAIMS: dict[str, tuple[Claims, str]] = {
    "expired": (
        lambda iss: cognito_claims("id", issuer=iss, exp=int(time.time()) - 120),
        "expired",
    ),
    "future nbf": (
        lambda iss: cognito_claims("id", issuer=iss, nbf=int(time.time()) + 120),
        "not valid yet",
    ),
    "no exp": (lambda iss: cognito_claims("id", issuer=iss, drop=["exp"]), "`exp`"),
    "exp not a number": (lambda iss: cognito_claims("id", issuer=iss, exp="soon"), "exp"),
    "wrong issuer": (lambda iss: cognito_claims("id", issuer=iss + "-evil"), "issuer"),
    "no issuer": (lambda iss: cognito_claims("id", issuer=iss, drop=["iss"]), "`iss`"),
    "wrong audience": (lambda iss: cognito_claims("id", issuer=iss, client_id="x"), "aud"),
    "no audience": (lambda iss: cognito_claims("id", issuer=iss, drop=["aud"]), "aud"),
    "access for other client": (
        lambda iss: cognito_claims("access", issuer=iss, client_id="x"),
        "client_id",
    ),
    "access without client_id": (
        lambda iss: cognito_claims("access", issuer=iss, drop=["client_id"]),
        "client_id",
    ),
    "access with aud only": (
        lambda iss: cognito_claims("access", issuer=iss, drop=["client_id"], aud=DEFAULT_CLIENT_ID),
        "client_id",
    ),
    "token_use refresh": (
        lambda iss: cognito_claims("id", issuer=iss, token_use="refresh"),
        "token_use",
    ),
    "no token_use": (
        lambda iss: cognito_claims("id", issuer=iss, drop=["token_use"]),
        "`token_use`",
    ),
    "missing email": (lambda iss: cognito_claims("id", issuer=iss, drop=["email"]), "`email`"),
    "empty email": (lambda iss: cognito_claims("id", issuer=iss, email=" "), "email"),
    "email not a string": (
        lambda iss: {**cognito_claims("id", issuer=iss), "email": ["a@example.com"]},
        "email",
    ),
    "missing sub": (lambda iss: cognito_claims("id", issuer=iss, drop=["sub"]), "`sub`"),
    "empty sub": (lambda iss: cognito_claims("id", issuer=iss, sub=""), "sub"),
}


@pytest.mark.parametrize(("claims", "reason"), REJECTED_CLAIMS.values(), ids=REJECTED_CLAIMS.keys())
async def test_bad_claims_are_rejected(
    verifier: CognitoVerifier, jwks: JwksServer, key: SigningKey, claims: Claims, reason: str
) -> None:
    with pytest.raises(InvalidToken, match=reason):
        await verifier.verify(rs256_token(key, claims(jwks.issuer)))


async def test_exp_within_leeway_passes(
    verifier: CognitoVerifier, jwks: JwksServer, key: SigningKey
) -> None:
    await verifier.verify(id_token(key, issuer=jwks.issuer, exp=int(time.time()) - 30))


async def test_nbf_within_leeway_passes(
    verifier: CognitoVerifier, jwks: JwksServer, key: SigningKey
) -> None:
    await verifier.verify(id_token(key, issuer=jwks.issuer, nbf=int(time.time()) + 30))


async def test_leeway_above_sixty_seconds_is_refused(jwks: JwksServer) -> None:
    with pytest.raises(ValueError, match="leeway"):
        CognitoVerifier(jwks.issuer, jwks.jwks_url, [DEFAULT_CLIENT_ID], leeway_s=61)


async def test_alg_none_is_rejected(
    verifier: CognitoVerifier, jwks: JwksServer, key: SigningKey
) -> None:
    token = unsigned_token(cognito_claims("id", issuer=jwks.issuer), header={"kid": key.kid})
    with pytest.raises(InvalidToken, match="algorithm"):
        await verifier.verify(token)
    assert jwks.hits == 0


async def test_hs256_signed_with_the_public_key_is_rejected(
    verifier: CognitoVerifier, jwks: JwksServer, key: SigningKey
) -> None:
    await verifier.verify(id_token(key, issuer=jwks.issuer))  # the key is cached from here on
    claims = cognito_claims("id", issuer=jwks.issuer)
    for secret in (key.public_pem, key.public_pem.strip()):
        token = hs256_token(secret, claims, header={"kid": key.kid})
        with pytest.raises(InvalidToken, match="algorithm"):
            await verifier.verify(token)


async def test_rs256_header_on_an_hmac_signature_is_rejected(
    verifier: CognitoVerifier, jwks: JwksServer, key: SigningKey
) -> None:
    forged = hs256_token(key.public_pem, cognito_claims("id", issuer=jwks.issuer))
    _, body, sig = forged.split(".")
    rs_head = b64url(b'{"alg": "RS256", "kid": "key-a"}')
    with pytest.raises(InvalidToken, match="signature"):
        await verifier.verify(f"{rs_head}.{body}.{sig}")


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256", "ES256", "HS512", "RS256 "])
async def test_other_algorithms_are_rejected(
    verifier: CognitoVerifier, jwks: JwksServer, key: SigningKey, alg: str
) -> None:
    token = rs256_token(key, cognito_claims("id", issuer=jwks.issuer), header={"alg": alg})
    with pytest.raises(InvalidToken, match="algorithm"):
        await verifier.verify(token)


async def test_tampered_payload_is_rejected(
    verifier: CognitoVerifier, jwks: JwksServer, key: SigningKey
) -> None:
    head, _, sig = id_token(key, issuer=jwks.issuer).split(".")
    _, body, _ = id_token(key, issuer=jwks.issuer, email="admin@example.com").split(".")
    with pytest.raises(InvalidToken, match="signature"):
        await verifier.verify(f"{head}.{body}.{sig}")


async def test_token_signed_by_another_key_with_a_known_kid_is_rejected(
    verifier: CognitoVerifier, jwks: JwksServer, key: SigningKey, second_key: SigningKey
) -> None:
    token = rs256_token(
        second_key, cognito_claims("id", issuer=jwks.issuer), header={"kid": key.kid}
    )
    with pytest.raises(InvalidToken, match="signature"):
        await verifier.verify(token)


async def test_missing_kid_is_rejected(
    verifier: CognitoVerifier, jwks: JwksServer, key: SigningKey
) -> None:
    token = rs256_token(key, cognito_claims("id", issuer=jwks.issuer), header={"kid": None})
    with pytest.raises(InvalidToken, match="kid"):
        await verifier.verify(token)


async def test_unknown_kid_is_rejected(
    verifier: CognitoVerifier, jwks: JwksServer, second_key: SigningKey
) -> None:
    with pytest.raises(InvalidToken, match="unknown kid"):
        await verifier.verify(id_token(second_key, issuer=jwks.issuer))


def test_a_fresh_key_pair_has_its_own_kid() -> None:
    assert new_signing_key().kid != new_signing_key().kid


@pytest.mark.parametrize(
    ("pool_id", "issuer"),
    [
        ("eu-west-1_AbCdEf", "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf"),
        ("us-gov-west-1_X1", "https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_X1"),
    ],
)
def test_cognito_issuer(pool_id: str, issuer: str) -> None:
    assert cognito_issuer(pool_id) == issuer


@pytest.mark.parametrize(
    "pool_id", ["", "AbCdEf", "eu-west-1", "eu-west-1_", "_AbCdEf", "eu-west-1_Ab/../x", "EU_x"]
)
def test_cognito_issuer_rejects_malformed_pool_ids(pool_id: str) -> None:
    with pytest.raises(ValueError, match="pool id"):
        cognito_issuer(pool_id)
