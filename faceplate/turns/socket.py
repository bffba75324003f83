"""One conversation WebSocket: authentication, its frames in, and its reader and writer tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Final

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from faceplate.auth import InvalidToken, bearer_token
from faceplate.errors import Unauthorized
from faceplate.state import AppState
from faceplate.structs import User
from faceplate.turns import frames as f
from faceplate.turns.fanout import Outbox
from faceplate.turns.limits import SocketLimits
from faceplate.web.identity import user_for_token

_log = logging.getLogger("faceplate.ws")

BAD_AUTH: Final = 4401
NOT_FOUND: Final = 4404
AUTH_TIMEOUT: Final = 4408
TOO_BIG: Final = 1009
SERVER_FAULT: Final = 1011


class Close(Exception):
    """End the socket with this close code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Gone(Exception):
    """The client left."""


async def receive(websocket: WebSocket, limits: SocketLimits) -> str | bytes:
    """The next frame's data; Gone when the client left, Close(1009) when over the limit."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise Gone
    data: str | bytes | None = message.get("text")
    if data is None:
        data = message.get("bytes") or b""
    if _size_over(data, limits.max_frame_bytes):
        raise Close(TOO_BIG)
    return data


def _size_over(data: str | bytes, limit: int) -> bool:
    if len(data) > limit:
        return True
    if isinstance(data, bytes) or len(data) * 4 <= limit:
        return False
    return len(data.encode()) > limit


async def authenticate(websocket: WebSocket, state: AppState, limits: SocketLimits) -> User:
    """The user of the Authorization header or, without one, of a first `auth` frame."""
    header = websocket.headers.get("authorization")
    if header is not None:
        try:
            token = bearer_token(header)
        except InvalidToken:
            raise Close(BAD_AUTH) from None
    else:
        try:
            async with asyncio.timeout(limits.auth_timeout_s):
                data = await receive(websocket, limits)
        except TimeoutError:
            raise Close(AUTH_TIMEOUT) from None
        try:
            frame = f.CLIENT_FRAMES.decode(data)
        except msgspec.DecodeError:
            raise Close(BAD_AUTH) from None
        if not isinstance(frame, f.AuthFrame):
            raise Close(BAD_AUTH)
        token = frame.token
    try:
        return await user_for_token(state, token)
    except Unauthorized:
        raise Close(BAD_AUTH) from None


def decode(data: str | bytes) -> f.ClientFrame | str:
    """A client frame, or why it is not one."""
    if isinstance(data, bytes):
        return "frames are JSON text, not binary"
    try:
        frame: f.ClientFrame = f.CLIENT_FRAMES.decode(data)
    except msgspec.DecodeError as e:
        return str(e)
    return frame


async def converse(
    websocket: WebSocket,
    outbox: Outbox,
    limits: SocketLimits,
    on_frame: Callable[[str | bytes], None],
) -> int | None:
    """Run the socket's writer (draining `outbox`) and reader (frames to `on_frame`) until one
    ends; return the close code to send, or None when the client left."""
    writer = asyncio.create_task(_write(websocket, outbox), name="ws writer")
    reader = asyncio.create_task(_read(websocket, limits, on_frame), name="ws reader")

    def overflowed() -> None:  # the writer may be stuck on a client that stopped reading
        writer.cancel()

    outbox.on_overflow = overflowed
    try:
        done, _ = await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        outbox.on_overflow = None
        for task in (writer, reader):
            task.cancel()
        # asyncio.wait, not gather: if this task is itself being cancelled, the CancelledError
        # that ends it stays the canceller's own (anyio, under TestClient, checks it is).
        await asyncio.wait({writer, reader})
    if reader in done and not reader.cancelled():
        return reader.result()
    if writer.cancelled() or writer.exception() is None:
        return outbox.code
    if isinstance(writer.exception(), WebSocketDisconnect | OSError):
        return None  # the writer found the client gone
    return writer.result()


async def close(websocket: WebSocket, code: int, limits: SocketLimits) -> None:
    """Send the close frame, giving up on a client that never reads it."""
    with contextlib.suppress(TimeoutError, WebSocketDisconnect, WebSocketDisconnected, OSError):
        async with asyncio.timeout(limits.close_timeout_s):
            await websocket.close(code)


async def _write(websocket: WebSocket, outbox: Outbox) -> None:
    while (frame := await outbox.next()) is not None:
        await websocket.send_text(frame)


async def _read(
    websocket: WebSocket, limits: SocketLimits, on_frame: Callable[[str | bytes], None]
) -> int | None:
    try:
        while True:
            on_frame(await receive(websocket, limits))
    except Gone:
        return None
    except Close as e:
        return e.code
