"""The asyncpg pool: msgspec JSONB codecs on connect, a ping on every acquire."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any, Final, NamedTuple, Protocol

import asyncpg
import asyncpg.pool
import msgspec

from faceplate.errors import Unavailable

Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy
Pool = asyncpg.Pool


class PoolSample(NamedTuple):
    """The pool at one moment."""

    size: int
    idle: int
    max_size: int
    waiting: int


class AcquireObserver(Protocol):
    """Told of every acquire's outcome (the metrics, when they are on)."""

    def acquired(self, seconds: float) -> None: ...

    def acquire_failed(self, reason: str) -> None: ...


_ENC: Final = msgspec.json.Encoder()
_DEC: Final = msgspec.json.Decoder()

# Errors of a connection that died while idle in the pool, or of a server that is away.
STALE: Final = (
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    # A FATAL read before the end of its connection: the ping finds it mid-operation.
    asyncpg.InternalClientError,
    OSError,
)


# PostgreSQL refuses U+0000 in text and jsonb; model and tool output may carry it.
_JSON_NUL: Final = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def without_nul(text: str) -> str:
    """Text PostgreSQL accepts: U+0000 becomes U+FFFD."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _encode_jsonb(value: Any) -> bytes:
    data = _ENC.encode(value)
    if b"\\u0000" in data:
        data = _JSON_NUL.sub(rb"\1\\ufffd", data)
    return b"\x01" + data


def _decode_jsonb(data: bytes) -> Any:
    return _DEC.decode(data[1:])


def _encode_json(value: Any) -> bytes:
    return _ENC.encode(value)


def _decode_json(data: bytes) -> Any:
    return _DEC.decode(data)


async def _init(conn: asyncpg.Connection) -> None:
    """Once per new connection: JSONB and JSON go through msgspec, in binary format."""
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        format="binary",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb,
    )
    await conn.set_type_codec(
        "json", schema="pg_catalog", format="binary", encoder=_encode_json, decoder=_decode_json
    )


async def _ping(conn: asyncpg.pool.PoolConnectionProxy) -> None:
    """Before every hand-out: a dead connection fails here and asyncpg closes it."""
    await conn.execute("SELECT 1")


class _Connection(asyncpg.Connection):
    """A pooled connection released without asyncpg's reset query.

    The service never leaves session state behind (no LISTEN, advisory locks, cursors or SET on
    pooled connections), so the reset's extra round trip on every release buys nothing; an
    open transaction is still rolled back by the pool. Whatever needs session state (LISTEN)
    takes its own connection, outside the pool.
    """

    def get_reset_query(self) -> str:
        return ""


class Database:
    """The pool and how long a caller may wait for one of its connections.

    Made with `open_database` it is connected at once; made with `lazy_database` while the
    server is away, it answers Unavailable and connects on the first call after it is back.
    """

    def __init__(
        self,
        pool: asyncpg.Pool | None,
        *,
        timeout_s: float,
        dsn: str = "",
        min_size: int = 5,
        max_size: int = 20,
    ) -> None:
        self._pool = pool
        self.timeout_s = timeout_s
        self._dsn = dsn
        self._sizes = (min_size, max_size)
        self._opening = asyncio.Lock()
        self._next_try = 0.0
        self.waiting = 0
        """Callers in `acquire` now, not yet handed a connection."""
        self.observer: AcquireObserver | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise Unavailable("database unreachable")
        return self._pool

    async def _ensure_pool(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        async with self._opening:
            if self._pool is None:
                if time.monotonic() < self._next_try:
                    raise Unavailable("database unreachable")
                self._next_try = time.monotonic() + _RETRY_OPEN_S
                self._pool = await _create_pool(
                    self._dsn, self._sizes[0], self._sizes[1], self.timeout_s
                )
            return self._pool

    def connection(self) -> _Lease:
        """A live pooled connection, released on exit; the caller owns it meanwhile.

        A connection that fails its ping is closed by the pool and another is taken, so a
        connection killed while idle never reaches the caller. Waiting longer than the
        timeout, or a database that cannot be reached, raises Unavailable.
        """
        return _Lease(self)

    async def acquire(self) -> asyncpg.pool.PoolConnectionProxy:
        """A live pooled connection that the caller must `release`; prefer `connection()`.

        Opens the pool first if it is not open yet. Raises Unavailable as `connection()` does.
        """
        pool = await self._ensure_pool()
        started = time.monotonic()
        deadline = started + self.timeout_s
        self.waiting += 1
        try:
            # Every idle connection may have died at once (a database restart): try each in turn.
            for _ in range(pool.get_max_size() + 1):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    conn: asyncpg.pool.PoolConnectionProxy = await pool.acquire(timeout=remaining)
                except TimeoutError as e:
                    self._failed("exhausted")
                    raise Unavailable("database pool exhausted") from e
                except STALE:
                    continue
                if self.observer is not None:
                    self.observer.acquired(time.monotonic() - started)
                return conn
        finally:
            self.waiting -= 1
        self._failed("unreachable")
        raise Unavailable("database unreachable")

    def _failed(self, reason: str) -> None:
        if self.observer is not None:
            self.observer.acquire_failed(reason)

    def sample(self) -> PoolSample | None:
        """The pool now: connections held, idle, at most, and callers waiting (None: not open)."""
        pool = self._pool
        if pool is None:
            return None
        return PoolSample(pool.get_size(), pool.get_idle_size(), pool.get_max_size(), self.waiting)

    async def release(self, conn: asyncpg.pool.PoolConnectionProxy) -> None:
        """Give back a connection from `acquire`."""
        await self.pool.release(conn)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()


_RETRY_OPEN_S: Final = 1.0


class _Lease:
    """`async with db.connection() as conn`: one acquire, one release (a plain class: this
    runs on every request, and a generator-based context manager costs more)."""

    __slots__ = ("_conn", "_db")

    def __init__(self, db: Database) -> None:
        self._db = db

    async def __aenter__(self) -> Conn:
        self._conn = await self._db.acquire()
        return self._conn

    async def __aexit__(self, *exc: object) -> None:
        await self._db.release(self._conn)


async def _create_pool(dsn: str, min_size: int, max_size: int, timeout_s: float) -> asyncpg.Pool:
    try:
        return await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=_init,
            setup=_ping,
            connection_class=_Connection,
            command_timeout=60,
            # Below the idle timeout of the usual load balancers and NAT gateways.
            max_inactive_connection_lifetime=300,
            timeout=timeout_s,
        )
    except (*STALE, TimeoutError) as e:
        raise Unavailable(f"database unreachable: {type(e).__name__}") from e


async def open_database(
    dsn: str, *, min_size: int = 5, max_size: int = 20, timeout_s: float = 30.0
) -> Database:
    """Open the pool; raises Unavailable when the database cannot be reached."""
    pool = await _create_pool(dsn, min_size, max_size, timeout_s)
    return Database(pool, timeout_s=timeout_s, dsn=dsn, min_size=min_size, max_size=max_size)


async def lazy_database(
    dsn: str, *, min_size: int = 5, max_size: int = 20, timeout_s: float = 30.0
) -> Database:
    """Open the pool if the database answers now, else a Database that connects later."""
    try:
        return await open_database(dsn, min_size=min_size, max_size=max_size, timeout_s=timeout_s)
    except Unavailable:
        return Database(None, timeout_s=timeout_s, dsn=dsn, min_size=min_size, max_size=max_size)


def rowcount(status: str) -> int:
    """The row count of a command status such as 'UPDATE 3'."""
    return int(status.rsplit(" ", 1)[1])
