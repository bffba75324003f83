"""The REST floor: a bare ASGI callable doing the service's work with no framework.

Same settings (FACEPLATE_*), same pool (`open_database`: codecs, ping on acquire), same SQL
files through `faceplate.queries`, same dev token check, same cached identity → user lookup,
same msgspec structs on the wire. Routing is by hand on method and path. What it lacks is
everything a framework adds: routing tables, Request objects, middleware, exception handlers.
Run it with `uvicorn bench.floor:app`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl
from uuid import UUID

import msgspec
from uuid6 import uuid7

from faceplate.api.pages import CursorCodec, Page, encode_cursor, page_of
from faceplate.api.schemas import CreateConversation, ErrorBody, ErrorDetail, Me
from faceplate.auth import DevVerifier, Identity, InvalidToken, bearer_token
from faceplate.auth.dev import load_or_create_secret
from faceplate.db import Conn, Database, open_database
from faceplate.errors import Invalid
from faceplate.queries import conversations as cq
from faceplate.queries import messages as mq
from faceplate.queries import users as uq
from faceplate.settings import load_settings
from faceplate.structs import User

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_ENC: Final = msgspec.json.Encoder()
_CREATE: Final = msgspec.json.Decoder(CreateConversation)
_CURSOR: Final = CursorCodec(tuple[datetime, UUID])
_DEPTH_CURSOR: Final = CursorCodec(int)
_K = TypeVar("_K")
_JSON: Final = (b"content-type", b"application/json")
_BEARER: Final = (b"www-authenticate", b"Bearer")
_TTL_S: Final = 60.0
_PREFIX: Final = "/v1/conversations/"


class _Reply(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Floor:
    """The ASGI app; the pool and verifier are made in the lifespan, like the service's."""

    def __init__(self) -> None:
        self._db: Database | None = None
        self._verifier: DevVerifier | None = None
        self._timeout_s = 30.0
        self._users: dict[Identity, tuple[float, User]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                s = load_settings()
                assert s.database_url is not None, "the floor needs FACEPLATE_DATABASE_URL"
                self._db = await open_database(
                    s.database_url,
                    min_size=s.db_pool_min,
                    max_size=s.db_pool_max,
                    timeout_s=s.db_pool_timeout_s,
                )
                self._timeout_s = s.db_pool_timeout_s
                self._verifier = DevVerifier(load_or_create_secret(s.data_dir))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._db is not None:
                    await self._db.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [_JSON]
        try:
            status, body = await self._route(scope, receive)
        except _Reply as e:
            status = e.status
            body = _ENC.encode(ErrorBody(error=ErrorDetail(code=e.code, message=e.message)))
            if status == 401:
                headers.append(_BEARER)
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _route(self, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        method: str = scope["method"]
        path: str = scope["path"]
        if path == "/readyz":
            return 200, b'{"status":"ready"}'
        if path == "/v1/me" and method == "GET":
            user = await self._user(scope)
            return 200, _ENC.encode(Me(id=user.id, email=user.email, created_at=user.created_at))
        if path == "/v1/conversations":
            if method == "GET":
                return 200, await self._list(scope, await self._user(scope))
            if method == "POST":
                return 201, await self._create(receive, await self._user(scope))
        elif path.startswith(_PREFIX) and method == "GET":
            rest = path[len(_PREFIX) :]
            if rest.endswith("/messages"):
                user = await self._user(scope)
                return 200, await self._messages(scope, user, _uuid(rest[: -len("/messages")]))
            if "/" not in rest:
                user = await self._user(scope)
                return 200, await self._get(user, _uuid(rest))
        raise _Reply(404, "not_found", "not found")

    def _acquire(self) -> Any:
        """A pooled connection as the service gets one: ping on acquire, bounded wait."""
        assert self._db is not None
        return self._db.pool.acquire(timeout=self._timeout_s)

    async def _user(self, scope: Scope) -> User:
        assert self._verifier is not None
        header = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value.decode("latin-1")
        try:
            identity = await self._verifier.verify(bearer_token(header))
        except InvalidToken:
            raise _Reply(401, "unauthorized", "invalid or expired token") from None
        now = time.monotonic()
        hit = self._users.get(identity)
        if hit is not None and hit[0] > now:
            return hit[1]
        async with self._acquire() as conn:
            user = await uq.get_user_by_subject(conn, subject_id=identity.subject)
            if user is None or user.email != identity.email:
                user = await uq.upsert_user(
                    conn, id=uuid7(), subject_id=identity.subject, email=identity.email
                )
        self._users[identity] = (now + _TTL_S, user)
        return user

    async def _list(self, scope: Scope, user: User) -> bytes:
        limit, after = _page_params(scope)
        async with self._acquire() as conn:
            rows = await cq.list_conversations(
                conn,
                user_id=user.id,
                after_updated_at=after[0] if after else None,
                after_id=after[1] if after else None,
                limit=limit + 1,
            )
        return _ENC.encode(page_of(rows, limit, lambda c: (c.updated_at, c.id)))

    async def _create(self, receive: Receive, user: User) -> bytes:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        try:
            body = _CREATE.decode(b"".join(chunks))
        except msgspec.ValidationError as e:
            raise _Reply(422, "validation_error", str(e)) from None
        except msgspec.DecodeError:
            raise _Reply(400, "invalid_json", "request body is not valid JSON") from None
        async with self._acquire() as conn:
            conv = await cq.create_conversation(conn, id=uuid7(), user_id=user.id, title=body.title)
        return _ENC.encode(conv)

    async def _get(self, user: User, conversation_id: UUID) -> bytes:
        async with self._acquire() as conn:
            conv = await cq.get_conversation(conn, user_id=user.id, conversation_id=conversation_id)
        if conv is None:
            raise _Reply(404, "not_found", "conversation not found")
        return _ENC.encode(conv)

    async def _messages(self, scope: Scope, user: User, conversation_id: UUID) -> bytes:
        limit, raw = _raw_page_params(scope)
        after = _decoded(_DEPTH_CURSOR, raw)
        async with self._acquire() as conn:
            rows = await mq.list_messages(
                conn,
                user_id=user.id,
                conversation_id=conversation_id,
                after_depth=after,
                limit=limit + 1,
            )
            if not rows and not await _owned(conn, user, conversation_id):
                raise _Reply(404, "not_found", "conversation not found")
        # The cursor is the depth of the page's last message: its position on the branch.
        items = rows[:limit]
        last = (-1 if after is None else after) + len(items)
        cursor = encode_cursor(last) if len(rows) > limit else None
        return _ENC.encode(Page(items=items, next_cursor=cursor))


async def _owned(conn: Conn, user: User, conversation_id: UUID) -> bool:
    conv = await cq.get_conversation(conn, user_id=user.id, conversation_id=conversation_id)
    return conv is not None


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise _Reply(404, "not_found", "conversation not found") from None


def _page_params(scope: Scope) -> tuple[int, tuple[datetime, UUID] | None]:
    limit, cursor = _raw_page_params(scope)
    return limit, _decoded(_CURSOR, cursor)


def _decoded(codec: CursorCodec[_K], cursor: str | None) -> _K | None:
    try:
        return codec.decode(cursor)
    except Invalid:
        raise _Reply(422, "validation_error", "cursor is not valid") from None


def _raw_page_params(scope: Scope) -> tuple[int, str | None]:
    limit, cursor = 50, None
    for key, value in parse_qsl(scope["query_string"].decode("latin-1")):
        if key == "limit":
            if not value.isdigit() or not 1 <= int(value) <= 100:
                raise _Reply(422, "validation_error", "limit must be an integer from 1 to 100")
            limit = int(value)
        elif key == "cursor":
            cursor = value
    return limit, cursor


app = Floor()
