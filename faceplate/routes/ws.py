"""The conversation WebSocket (CONTRACT §10): auth, ownership, `ready`, then frames both ways."""

from __future__ import annotations

import logging
from functools import partial
from uuid import UUID

from starlette.websockets import WebSocket

from faceplate.errors import NotFound, Unavailable
from faceplate.services import conversations
from faceplate.state import AppState, app_state
from faceplate.structs import User
from faceplate.turns import frames as f
from faceplate.turns.fanout import Outbox
from faceplate.turns.limits import SocketLimits
from faceplate.turns.registry import TurnInProgress
from faceplate.turns.socket import (
    NOT_FOUND,
    SERVER_FAULT,
    Close,
    Gone,
    authenticate,
    close,
    converse,
    decode,
)

_log = logging.getLogger("faceplate.ws")


async def conversation_socket(websocket: WebSocket) -> None:
    await websocket.accept()  # always: failures are told by the close code
    state = app_state(websocket)
    limits = state.socket_limits
    try:
        code = await _serve(websocket, state, limits)
    except Exception:  # the socket's boundary: a fault closes it with 1011, never silently
        _log.exception("conversation socket %s failed", websocket.path_params.get("id"))
        code = SERVER_FAULT
    if code is not None:
        await close(websocket, code, limits)


async def _serve(websocket: WebSocket, state: AppState, limits: SocketLimits) -> int | None:
    try:
        user = await authenticate(websocket, state, limits)
        conversation_id = _conversation_id(websocket)
        await conversations.get(state.db, user, conversation_id)
    except Close as e:
        return e.code
    except Gone:
        return None
    except NotFound:
        return NOT_FOUND
    except Unavailable:
        return SERVER_FAULT
    outbox = Outbox(max_frames=limits.outbox_frames, max_chars=limits.outbox_chars)
    state.turns.join(conversation_id, outbox)
    try:
        on_frame = partial(_on_frame, state, user, conversation_id, outbox, limits)
        return await converse(websocket, outbox, limits, on_frame)
    finally:
        state.turns.leave(conversation_id, outbox)


def _conversation_id(websocket: WebSocket) -> UUID:
    try:
        return UUID(websocket.path_params["id"])
    except ValueError:
        raise Close(NOT_FOUND) from None


def _on_frame(
    state: AppState,
    user: User,
    conversation_id: UUID,
    outbox: Outbox,
    limits: SocketLimits,
    data: str | bytes,
) -> None:
    match decode(data):
        case str() as problem:
            outbox.offer(f.error("invalid_frame", problem))
        case f.UserMessageFrame(content=content):
            if not 1 <= len(content.encode()) <= limits.max_content_bytes:
                message = f"content must be 1 to {limits.max_content_bytes:,} bytes of UTF-8"
                outbox.offer(f.error("invalid_frame", message))
                return
            try:
                state.turns.start(user, conversation_id, content)
            except TurnInProgress as e:
                outbox.offer(f.error("turn_in_progress", e.message))
            except Unavailable as e:
                outbox.offer(f.error("unavailable", e.message))
        case f.CancelFrame():
            state.turns.cancel(conversation_id)
        case f.PingFrame():
            outbox.offer(f.PONG)
        case f.AuthFrame():
            outbox.offer(f.error("invalid_frame", "the socket is already authenticated"))
