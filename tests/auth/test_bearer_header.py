"""Extracting the token from an Authorization header."""

from __future__ import annotations

import pytest

from faceplate.auth import InvalidToken, bearer_token


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("  Bearer   abc  ", "abc"),
    ],
)
def test_bearer_token_is_extracted(header: str, token: str) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "abc.def.ghi", "Bearer a b"]
)
def test_anything_else_is_rejected(header: str | None) -> None:
    with pytest.raises(InvalidToken):
        bearer_token(header)
