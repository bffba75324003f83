"""The token of a conversation socket (CONTRACT §10): checked when the socket opens, replaced
by a later `auth` frame of the same subject, and watched until it expires."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from uuid import UUID

from faceplate.errors import Conflict, Unauthorized, Unavailable
from faceplate.logs import security
from faceplate.state import AppState
from faceplate.structs import User
from faceplate.turns.frames import CloseCode
from faceplate.web.identity import identity_for_token, user_of


class Close(Exception):
    """End the socket with this close code."""

    def __init__(self, code: CloseCode) -> None:
        super().__init__(code)
        self.code = code


class SocketAuth:
    """Who a socket speaks for, and until when.

    `sign_in` takes the socket's first token; `replace` a later one, which must name the same
    subject (its email may have changed). Either raises Close: 4401 for a token that does not
    verify (or has expired, or names another subject), 4409 for an email another subject
    holds, 1011 when the issuer's keys or the database cannot be had. `watch` calls its
    callback when the current token expires; a replaced token moves the moment.
    """

    def __init__(self, state: AppState) -> None:
        self._state = state
        self._user: User | None = None
        self._subject = ""
        self.expires_at = 0.0
        self._on_expiry: Callable[[], None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    @property
    def user(self) -> User:
        assert self._user is not None, "the socket is not signed in"
        return self._user

    def expired(self) -> bool:
        return time.time() >= self.expires_at

    async def sign_in(self, token: str) -> User:
        """The user of the socket's first token."""
        return await self._take(token, subject=None)

    async def replace(self, token: str) -> User:
        """The user of a token that replaces the socket's; same subject, else Close(4401)."""
        return await self._take(token, subject=self._subject)

    def watch(self, on_expiry: Callable[[], None]) -> None:
        """Call `on_expiry` once the token in use expires (until `stop`)."""
        self._on_expiry = on_expiry
        self._arm()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._on_expiry = None

    async def _take(self, token: str, *, subject: str | None) -> User:
        state = self._state
        try:
            identity = await identity_for_token(state, token, user_id=self._user_id())
        except Unauthorized:
            raise Close(CloseCode.BAD_AUTH) from None
        except Unavailable:
            raise Close(CloseCode.SERVER_FAULT) from None
        if identity.expires_at <= time.time():
            security("sign_in_failed", "token expired", user_id=self._user_id())
            raise Close(CloseCode.BAD_AUTH)
        if subject is not None and identity.subject != subject:
            security("sign_in_failed", "auth frame for another subject", user_id=self._user_id())
            raise Close(CloseCode.BAD_AUTH)
        try:
            user = await user_of(state, identity)
        except Conflict:
            raise Close(CloseCode.EMAIL_TAKEN) from None
        except Unavailable:
            raise Close(CloseCode.SERVER_FAULT) from None
        self._user = user
        self._subject = identity.subject
        self.expires_at = identity.expires_at
        self._arm()
        return user

    def _user_id(self) -> UUID | None:
        return None if self._user is None else self._user.id

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._on_expiry is None:
            return
        delay = self.expires_at - time.time()
        if delay < 86_400 * 365:  # a token of the far future needs no timer
            self._timer = asyncio.get_running_loop().call_later(max(0.0, delay), self._expire)

    def _expire(self) -> None:
        self._timer = None
        on_expiry = self._on_expiry
        if on_expiry is not None:
            security(
                "token_expired", "socket closed 4401", user_id=self._user_id(), level=logging.INFO
            )
            on_expiry()
