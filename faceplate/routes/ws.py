"""The conversation WebSocket (CONTRACT §10): authentication, ownership, `ready`, then a reader
that acts on the client's frames and a writer that drains the socket's outbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from uuid import UUID

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from faceplate.auth import InvalidToken, bearer_token
from faceplate.db import STALE
from faceplate.errors import Invalid, NotFound, RateLimited, Unavailable
from faceplate.logs import security
from faceplate.routes.ws_auth import Close as _Close
from faceplate.routes.ws_auth import SocketAuth
from faceplate.routes.ws_limits import SocketLimits
from faceplate.services.answers import Answers, NotPending
from faceplate.services.turn_requests import TurnRequests
from faceplate.state import AppState, app_state
from faceplate.structs import User
from faceplate.turns import frames as f
from faceplate.turns.branch import BranchPoint
from faceplate.turns.fanout import Outbox
from faceplate.turns.frames import CloseCode
from faceplate.turns.registry import TurnInProgress, TurnRegistry

_log = logging.getLogger(__name__)


class _ClientLeft(Exception):
    """The client closed the socket or went away."""


async def conversation_socket(websocket: WebSocket) -> None:
    """The route: the handshake is always accepted; a failure is told by the close code."""
    await websocket.accept()
    state = app_state(websocket)
    limits = state.socket_limits
    try:
        code = await _serve(websocket, state, limits)
    except Exception:  # the socket's boundary: a fault closes it with 1011, never silently
        _log.exception("conversation socket %s failed", websocket.path_params.get("id"))
        code = CloseCode.SERVER_FAULT
    if code is not None:
        await close(websocket, code, limits)


async def _serve(websocket: WebSocket, state: AppState, limits: SocketLimits) -> CloseCode | None:
    auth = SocketAuth(state)
    try:
        user = await authenticate(websocket, auth, limits)
    except _Close as e:
        return e.code
    except _ClientLeft:
        return None
    if not state.socket_counts.acquire(user.id):
        limit = state.settings.limit_sockets_per_user
        security("rate_limited", f"over {limit} sockets, closed 4429", user_id=user.id)
        return CloseCode.TOO_MANY_SOCKETS
    try:
        conversation_id = _conversation_id(websocket)
        await state.conversations.get(user, conversation_id)
        return await ConversationSocket(
            websocket,
            state.turns,
            auth,
            conversation_id,
            limits,
            state.turn_requests,
            answers=state.answers,
        ).run()
    except _Close as e:
        return e.code
    except NotFound:
        return CloseCode.NOT_FOUND
    except Unavailable:
        return CloseCode.SERVER_FAULT
    finally:
        state.socket_counts.release(user.id)


def _conversation_id(websocket: WebSocket) -> UUID:
    try:
        return UUID(websocket.path_params["id"])
    except ValueError:
        raise _Close(CloseCode.NOT_FOUND) from None


async def authenticate(websocket: WebSocket, auth: SocketAuth, limits: SocketLimits) -> User:
    """The user of the Authorization header or, without one, of a first `auth` frame."""
    header = websocket.headers.get("authorization")
    if header is not None:
        try:
            token = bearer_token(header)
        except InvalidToken:
            raise _Close(CloseCode.BAD_AUTH) from None
    else:
        try:
            async with asyncio.timeout(limits.auth_timeout_s):
                data = await receive(websocket, limits)
        except TimeoutError:
            raise _Close(CloseCode.AUTH_TIMEOUT) from None
        try:
            frame = f.CLIENT_FRAMES.decode(data)
        except msgspec.DecodeError:
            raise _Close(CloseCode.BAD_AUTH) from None
        if not isinstance(frame, f.AuthFrame):
            raise _Close(CloseCode.BAD_AUTH)
        token = frame.token
    return await auth.sign_in(token)


class ConversationSocket:
    """One authenticated socket on its conversation: the user (its token: `auth`), the
    conversation, the socket's outbox and limits, and its two tasks — a reader that acts on
    each client frame and a writer that sends what the outbox holds. The socket closes 4401
    when its token expires, unless an `auth` frame replaced it first."""

    def __init__(
        self,
        websocket: WebSocket,
        turns: TurnRegistry,
        auth: SocketAuth,
        conversation_id: UUID,
        limits: SocketLimits,
        requests: TurnRequests | None = None,
        *,
        answers: Answers | None = None,
    ) -> None:
        self._websocket = websocket
        self._answers = answers
        self.requests = requests
        self._turns = turns
        self.auth = auth
        self.conversation_id = conversation_id
        self.limits = limits
        self.outbox = Outbox(max_frames=limits.outbox_frames, max_chars=limits.outbox_chars)

    async def run(self) -> CloseCode | None:
        """Join the conversation and talk until one side ends; the close code to send, or None
        when the client left. Leaving unsubscribes the socket; its conversation's turn goes on."""
        await self._turns.join(self.conversation_id, self.outbox)
        self.auth.watch(lambda: self.outbox.close(CloseCode.BAD_AUTH))
        try:
            return await self._converse()
        finally:
            self.auth.stop()
            self._turns.leave(self.conversation_id, self.outbox)

    @property
    def user(self) -> User:
        return self.auth.user

    async def on_frame(self, data: str | bytes) -> None:
        """Act on one client frame; every answer goes through the outbox. A frame is acted on
        before the next is read: an `auth` frame waits for its token's check (later frames are
        judged by the token it brings), a `user_message` for its turn's claim."""
        outbox = self.outbox
        match decode(data):
            case str() as problem:
                outbox.offer(f.error("invalid_frame", problem))
            case f.UserMessageFrame(content=content) as asked:
                limit = self.limits.max_content_bytes
                if not 1 <= len(content.encode()) <= limit:
                    message = f"content must be 1 to {limit:,} bytes of UTF-8"
                    outbox.offer(f.error("invalid_frame", message))
                    return
                if self.auth.expired():
                    raise _Close(CloseCode.BAD_AUTH)
                await self._start(content, asked)
            case f.RegenerateFrame() as asked:
                if self.auth.expired():
                    raise _Close(CloseCode.BAD_AUTH)
                await self._start("", asked)
            case f.CancelFrame():
                await self._turns.cancel(self.conversation_id)
            case f.PingFrame():
                outbox.offer(f.PONG)
            case f.AuthFrame(token=token):
                await self.auth.replace(token)
            case f.ApprovalFrame() | f.ElicitationResponseFrame() as answer:
                await self._answer(answer)

    async def _answer(self, frame: f.ApprovalFrame | f.ElicitationResponseFrame) -> None:
        """Store the user's answer to what the turn asked (it waits for the statement, so a
        frame after it is judged once it is stored); what went wrong goes to this socket."""
        if self.auth.expired():
            raise _Close(CloseCode.BAD_AUTH)
        answers = self._answers
        try:
            if answers is None:
                raise NotPending("nothing is pending")
            if isinstance(frame, f.ApprovalFrame):
                await answers.approval(self.user, self.conversation_id, frame)
            else:
                await answers.elicitation(self.user, self.conversation_id, frame)
        except NotPending as e:
            self.outbox.offer(f.error("not_pending", e.message))
        except Invalid as e:
            self.outbox.offer(f.error("invalid_frame", e.message))
        except (Unavailable, *STALE):
            self.outbox.offer(f.error("unavailable", "database unavailable: answer again"))

    async def _start(self, content: str, frame: f.UserMessageFrame | f.RegenerateFrame) -> None:
        """Start the turn a `user_message` or `regenerate` asks for, or say why not."""
        outbox = self.outbox
        try:
            branch = await self._branch(frame)
            await self._turns.start(self.user, self.conversation_id, content, branch=branch)
        except TurnInProgress as e:
            outbox.offer(f.error("turn_in_progress", e.message))
        except RateLimited as e:
            outbox.offer(f.error("rate_limited", e.message, retry_after_s=e.retry_after_s))
        except Invalid as e:
            outbox.offer(f.error("invalid_frame", e.message))
        except Unavailable as e:
            outbox.offer(f.error("unavailable", e.message))

    async def _branch(self, frame: f.UserMessageFrame | f.RegenerateFrame) -> BranchPoint | None:
        if self.requests is None:
            return None
        if isinstance(frame, f.RegenerateFrame):
            return await self.requests.for_regenerate(
                self.user, self.conversation_id, frame.message_id
            )
        return await self.requests.for_message(self.user, self.conversation_id, frame.parent_id)

    async def _converse(self) -> CloseCode | None:
        writer = asyncio.create_task(self._write(), name="ws writer")
        reader = asyncio.create_task(self._read(), name="ws reader")

        def overflowed() -> None:  # the writer may be stuck on a client that stopped reading
            writer.cancel()

        self.outbox.on_overflow = overflowed
        try:
            done, _ = await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.outbox.on_overflow = None
            for task in (writer, reader):
                task.cancel()
            # asyncio.wait, not gather: if this task is itself being cancelled, the CancelledError
            # that ends it stays the canceller's own (anyio, under TestClient, checks it is).
            await asyncio.wait({writer, reader})
        if reader in done and not reader.cancelled():
            return reader.result()
        if writer.cancelled() or writer.exception() is None:
            return self.outbox.code
        if isinstance(writer.exception(), WebSocketDisconnect | OSError):
            return None  # the writer found the client gone
        return writer.result()  # raises the writer's fault: the socket closes with 1011

    async def _write(self) -> None:
        while (frame := await self.outbox.next()) is not None:
            await self._websocket.send_text(frame)

    async def _read(self) -> CloseCode | None:
        try:
            while True:
                await self.on_frame(await receive(self._websocket, self.limits))
        except _ClientLeft:
            return None
        except _Close as e:
            return e.code


async def receive(websocket: WebSocket, limits: SocketLimits) -> str | bytes:
    """The next frame's data; _ClientLeft when the client left, _Close(1009) when over the limit."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise _ClientLeft
    data: str | bytes | None = message.get("text")
    if data is None:
        data = message.get("bytes") or b""
    if _size_over(data, limits.max_frame_bytes):
        raise _Close(CloseCode.TOO_BIG)
    return data


def _size_over(data: str | bytes, limit: int) -> bool:
    if len(data) > limit:
        return True
    if isinstance(data, bytes) or len(data) * 4 <= limit:
        return False
    return len(data.encode()) > limit


def decode(data: str | bytes) -> f.ClientFrame | str:
    """A client frame, or why it is not one."""
    if isinstance(data, bytes):
        return "frames are JSON text, not binary"
    try:
        frame: f.ClientFrame = f.CLIENT_FRAMES.decode(data)
    except msgspec.DecodeError as e:
        return str(e)
    return frame


async def close(websocket: WebSocket, code: CloseCode, limits: SocketLimits) -> None:
    """Send the close frame with its reason, giving up on a client that never reads it."""
    with contextlib.suppress(TimeoutError, WebSocketDisconnect, WebSocketDisconnected, OSError):
        async with asyncio.timeout(limits.close_timeout_s):
            await websocket.close(code, code.reason)
