"""Who a verified token speaks for, and the one error every failed verification raises."""

from __future__ import annotations

import msgspec


class Identity(msgspec.Struct, frozen=True):
    """The caller as a verified token names it: `sub` and `email`."""

    subject: str
    email: str


class InvalidToken(Exception):
    """The bearer token is missing, malformed, expired or not trusted.

    `reason` says why, for logs; clients only ever see a short generic message.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
