"""The signed-in user of a request: bearer token, verified, resolved to a user row, and
counted against the user's REST requests per minute."""

from __future__ import annotations

from uuid import UUID

from starlette.requests import HTTPConnection

from faceplate.auth import Identity, InvalidToken, IssuerUnavailable, bearer_token
from faceplate.errors import Conflict, RateLimited, Unauthorized, Unavailable
from faceplate.limits import retry_after
from faceplate.logs import security
from faceplate.state import AppState, app_state
from faceplate.structs import User


async def identity_for_token(
    state: AppState, token: str, *, user_id: UUID | None = None
) -> Identity:
    """The verified identity of a bearer token; Unauthorized if it does not verify (logged,
    with the reason, and `user_id` when a signed-in socket sent it), Unavailable while the
    issuer's keys cannot be had."""
    try:
        return await state.verifier.verify(token)
    except InvalidToken as e:
        security("sign_in_failed", e.reason, user_id=user_id)
        raise Unauthorized("invalid or expired token") from e
    except IssuerUnavailable as e:
        raise Unavailable("the token issuer's keys are not available yet") from e


async def user_of(state: AppState, identity: Identity) -> User:
    """The user row of a verified identity; Conflict (logged) if its email is another's."""
    if not state.schema_ready:
        raise Unavailable("database schema is not at the latest migration")
    try:
        return await state.users.resolve(identity)
    except Conflict:
        security("sign_in_failed", "the token's email belongs to another user")
        raise


async def user_for_token(state: AppState, token: str) -> User:
    """The user of a bearer token; Unauthorized if it does not verify."""
    return await user_of(state, await identity_for_token(state, token))


def _authorization(conn: HTTPConnection) -> str | None:
    """The first Authorization header, read from the raw headers (as `conn.headers.get` would,
    without building the headers mapping on every request)."""
    for name, value in conn.scope["headers"]:
        if name == b"authorization":
            text: str = value.decode("latin-1")
            return text
    return None


async def current_user(conn: HTTPConnection) -> User:
    """The user of an HTTP request's Authorization header; RateLimited (429) past the user's
    requests per minute on this instance."""
    state = app_state(conn)
    header = _authorization(conn)
    try:
        token = bearer_token(header)
    except InvalidToken as e:
        if header is not None:
            security("sign_in_failed", e.reason)
        raise Unauthorized("missing or malformed bearer token") from e
    user = await user_for_token(state, token)
    wait = state.request_windows.admit(user.id)
    if wait is not None:
        limit = state.settings.limit_requests_per_minute
        if state.request_windows.first_refusal(user.id):
            security("rate_limited", f"over {limit} requests per minute", user_id=user.id)
        raise RateLimited(f"more than {limit} requests in 60 s", retry_after_s=retry_after(wait))
    return user
