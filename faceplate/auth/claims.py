"""Who a verified token speaks for, and the one error every failed verification raises."""

from __future__ import annotations

import msgspec


class Identity(msgspec.Struct, frozen=True):
    """The caller as a verified token names it: `sub` and `email`, and until when (`exp`, in
    seconds since the epoch) the token holds."""

    subject: str
    email: str
    expires_at: float = float("inf")


class IssuerUnavailable(Exception):
    """The issuer's signing keys have never been fetched: no token can be judged yet.

    Not a verdict on the token (that would be InvalidToken): callers answer 503, never 401,
    so an outage of the issuer at start-up does not sign everyone out.
    """


class InvalidToken(Exception):
    """The bearer token is missing, malformed, expired or not trusted.

    `reason` says why, for logs; clients only ever see a short generic message.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
