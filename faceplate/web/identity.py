"""The signed-in user of a request: bearer token, verified, resolved to a user row."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from faceplate.auth import InvalidToken, bearer_token
from faceplate.errors import Unauthorized, Unavailable
from faceplate.state import AppState, app_state
from faceplate.structs import User


async def user_for_token(state: AppState, token: str) -> User:
    """The user of a bearer token; Unauthorized if it does not verify."""
    try:
        identity = await state.verifier.verify(token)
    except InvalidToken as e:
        raise Unauthorized("invalid or expired token") from e
    if not state.schema_ready:
        raise Unavailable("database schema is not at the latest migration")
    return await state.users.resolve(identity)


async def current_user(conn: HTTPConnection) -> User:
    """The user of an HTTP request's Authorization header."""
    state = app_state(conn)
    try:
        token = bearer_token(conn.headers.get("authorization"))
    except InvalidToken as e:
        raise Unauthorized("missing or malformed bearer token") from e
    return await user_for_token(state, token)
