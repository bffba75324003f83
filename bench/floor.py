"""The REST floor: the service's REST work written plainly, independent of the service's code.

A bare ASGI callable routing by hand, its own asyncpg pool (a ping on every acquire, as the
service's), its own SQL below, JSONB passed through as the raw JSON PostgreSQL sends (never
decoded), the dev token checked with PyJWT, the identity → user lookup cached for 60 s, and
bodies encoded once with msgspec. It imports nothing of `faceplate`, so whatever the service's
layers cost — its SQL and plans, its decoding, its framework — shows as the distance to it.
Run it with `uvicorn bench.floor:app` and the service's FACEPLATE_* environment.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl
from uuid import UUID

import asyncpg
import jwt
import msgspec
from uuid6 import uuid7

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_USER: Final = """
SELECT u.id, u.email, u.created_at FROM faceplate.users AS u WHERE u.subject_id = $1"""
_UPSERT_USER: Final = """
INSERT INTO faceplate.users AS u (id, subject_id, email) VALUES ($1, $2, $3)
ON CONFLICT (subject_id) DO UPDATE SET email = EXCLUDED.email
RETURNING u.id, u.email, u.created_at"""
_COLUMNS: Final = (
    "c.id, c.title, c.model, c.archived, c.active_message_id, c.created_at, c.updated_at"
)
_CONVERSATIONS: Final = f"""
SELECT {_COLUMNS} FROM faceplate.conversations AS c
WHERE c.user_id = $1 AND NOT c.archived AND (c.updated_at, c.id) < ($2, $3)
ORDER BY c.updated_at DESC, c.id DESC LIMIT $4"""
_CONVERSATION: Final = f"""
SELECT {_COLUMNS} FROM faceplate.conversations AS c
WHERE c.id = $2 AND c.user_id = $1"""
_CREATE: Final = f"""
INSERT INTO faceplate.conversations AS c (id, user_id, title, model) VALUES ($1, $2, $3, $4)
RETURNING {_COLUMNS}"""
# The active branch, root first, after the depth of the cursor: up from the active leaf (the
# owner read once, by the scalar subquery), then the page's rows whole, each with the children
# of its parent. An empty page asks whether the conversation is the user's at all (404).
_OWNED: Final = "SELECT 1 FROM faceplate.conversations AS c WHERE c.id = $2 AND c.user_id = $1"
_MESSAGES: Final = """
WITH RECURSIVE up AS (
    SELECT m.id, m.parent_id, m.depth FROM faceplate.messages AS m
    WHERE m.id = (SELECT c.active_message_id FROM faceplate.conversations AS c
                  WHERE c.id = $1 AND c.user_id = $2)
  UNION ALL
    SELECT p.id, p.parent_id, p.depth FROM up JOIN faceplate.messages AS p ON p.id = up.parent_id
    WHERE p.depth < up.depth AND p.depth > $3
)
SELECT m.id, m.conversation_id, m.parent_id,
       ARRAY(SELECT s.id FROM faceplate.messages AS s
             WHERE s.conversation_id = m.conversation_id
               AND s.parent_id IS NOT DISTINCT FROM m.parent_id
             ORDER BY s.created_at, s.id),
       m.role, m.content, m.tool_calls, m.tool_results, m.finish_reason, m.model, m.usage,
       m.created_at
FROM (SELECT up.id, up.depth FROM up WHERE up.depth > $3 ORDER BY up.depth LIMIT $4) AS pg
JOIN faceplate.messages AS m ON m.id = pg.id
ORDER BY pg.depth"""

_FIRST_AT: Final = datetime.fromisoformat("0001-01-01T00:00:00+00:00")
_LAST_AT: Final = datetime.fromisoformat("9999-12-31T23:59:59.999999+00:00")
_NO_ID: Final = UUID(int=0)
_ALL_ID: Final = UUID(int=2**128 - 1)
_TTL_S: Final = 60.0
_PREFIX: Final = "/v1/conversations/"
_JSON: Final = (b"content-type", b"application/json")
_BEARER: Final = (b"www-authenticate", b"Bearer")


class Conversation(msgspec.Struct):
    id: UUID
    title: str | None
    model: str | None
    archived: bool
    active_message_id: UUID | None
    created_at: datetime
    updated_at: datetime


class Message(msgspec.Struct):
    id: UUID
    conversation_id: UUID
    parent_id: UUID | None
    sibling_ids: list[UUID]
    role: str
    content: str
    tool_calls: msgspec.Raw | None
    tool_results: msgspec.Raw | None
    finish_reason: str | None
    model: str | None
    usage: msgspec.Raw | None
    created_at: datetime


class Page(msgspec.Struct):
    items: list[Any]
    next_cursor: str | None


class Me(msgspec.Struct):
    id: UUID
    email: str
    created_at: datetime


class Create(msgspec.Struct, forbid_unknown_fields=True):
    title: str | None = None
    model: str | None = None


_ENC: Final = msgspec.json.Encoder()
_CREATE_BODY: Final = msgspec.json.Decoder(Create)
_KEY: Final = msgspec.json.Decoder(tuple[datetime, UUID])
_DEPTH: Final = msgspec.json.Decoder(int)
_K = TypeVar("_K")


class _Reply(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _raw_jsonb(data: bytes) -> msgspec.Raw:
    return msgspec.Raw(data[1:])  # binary jsonb: a version byte, then the JSON text


def _jsonb(value: Any) -> bytes:
    return b"\x01" + _ENC.encode(value)


async def _init(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", format="binary", encoder=_jsonb, decoder=_raw_jsonb
    )


async def _ping(conn: Any) -> None:
    await conn.execute("SELECT 1")


class Floor:
    """The ASGI app; the pool and the token secret are had in the lifespan."""

    def __init__(self) -> None:
        self._pool: asyncpg.Pool | None = None
        self._secret = b""
        self._users: dict[tuple[str, str], tuple[float, asyncpg.Record]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                env = os.environ
                self._pool = await asyncpg.create_pool(
                    env["FACEPLATE_DATABASE_URL"],
                    min_size=int(env.get("FACEPLATE_DB_POOL_MIN", "5")),
                    max_size=int(env.get("FACEPLATE_DB_POOL_MAX", "20")),
                    init=_init,
                    setup=_ping,
                )
                data = Path(env.get("FACEPLATE_DATA_DIR", ".faceplate"))
                self._secret = (data / "dev-token-secret").read_bytes()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._pool is not None:
                    await self._pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [_JSON]
        try:
            status, body = await self._route(scope, receive)
        except _Reply as e:
            status = e.status
            body = _ENC.encode({"error": {"code": e.code, "message": e.message}})
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
            return 200, _ENC.encode(Me(user["id"], user["email"], user["created_at"]))
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
        assert self._pool is not None
        return self._pool.acquire(timeout=30.0)

    async def _user(self, scope: Scope) -> asyncpg.Record:
        token = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer":
                    token = None
        try:
            claims = jwt.decode(
                token or "",
                self._secret,
                algorithms=["HS256"],
                leeway=60,
                options={"require": ["exp"]},
            )
            subject, email = str(claims["sub"]), str(claims["email"])
        except (jwt.PyJWTError, KeyError):
            raise _Reply(401, "unauthorized", "invalid or expired token") from None
        now = time.monotonic()
        hit = self._users.get((subject, email))
        if hit is not None and hit[0] > now:
            return hit[1]
        async with self._acquire() as conn:
            user = await conn.fetchrow(_USER, subject)
            if user is None or user["email"] != email:
                user = await conn.fetchrow(_UPSERT_USER, uuid7(), subject, email)
        self._users[(subject, email)] = (now + _TTL_S, user)
        return user

    async def _list(self, scope: Scope, user: asyncpg.Record) -> bytes:
        limit, after = _page_params(scope)
        at, last = after or (_LAST_AT, _ALL_ID)
        async with self._acquire() as conn:
            rows = await conn.fetch(_CONVERSATIONS, user["id"], at, last, limit + 1)
        items = [Conversation(*r) for r in rows[:limit]]
        more = len(rows) > limit
        cursor = _cursor((items[-1].updated_at, items[-1].id)) if more else None
        return _ENC.encode(Page(items, cursor))

    async def _create(self, receive: Receive, user: asyncpg.Record) -> bytes:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        try:
            body = _CREATE_BODY.decode(b"".join(chunks))
        except msgspec.ValidationError as e:
            raise _Reply(422, "validation_error", str(e)) from None
        except msgspec.DecodeError:
            raise _Reply(400, "invalid_json", "request body is not valid JSON") from None
        async with self._acquire() as conn:
            row = await conn.fetchrow(_CREATE, uuid7(), user["id"], body.title, body.model)
        return _ENC.encode(Conversation(*row))

    async def _get(self, user: asyncpg.Record, conversation_id: UUID) -> bytes:
        async with self._acquire() as conn:
            row = await conn.fetchrow(_CONVERSATION, user["id"], conversation_id)
        if row is None:
            raise _Reply(404, "not_found", "conversation not found")
        return _ENC.encode(Conversation(*row))

    async def _messages(self, scope: Scope, user: asyncpg.Record, conversation_id: UUID) -> bytes:
        limit, after = _page_params(scope, _DEPTH)
        depth = -1 if after is None else after
        async with self._acquire() as conn:
            rows = await conn.fetch(_MESSAGES, conversation_id, user["id"], depth, limit + 1)
            if not rows and await conn.fetchval(_OWNED, user["id"], conversation_id) is None:
                raise _Reply(404, "not_found", "conversation not found")
        items = [Message(*r) for r in rows[:limit]]
        more = len(rows) > limit
        return _ENC.encode(Page(items, _cursor(depth + len(items)) if more else None))


def _cursor(key: object) -> str:
    return base64.urlsafe_b64encode(_ENC.encode(key)).decode().rstrip("=")


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise _Reply(404, "not_found", "conversation not found") from None


def _page_params(
    scope: Scope, decoder: msgspec.json.Decoder[_K] | None = None
) -> tuple[int, _K | None]:
    limit, cursor = 50, None
    for key, value in parse_qsl(scope["query_string"].decode("latin-1")):
        if key == "limit":
            if not value.isdigit() or not 1 <= int(value) <= 100:
                raise _Reply(422, "validation_error", "limit must be an integer from 1 to 100")
            limit = int(value)
        elif key == "cursor":
            cursor = value
    if cursor is None:
        return limit, None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return limit, (decoder or _KEY).decode(raw)  # type: ignore[return-value]
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise _Reply(422, "validation_error", "cursor is not valid") from None


app = Floor()
