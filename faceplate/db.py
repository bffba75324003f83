"""The asyncpg pool: msgspec JSONB codecs on connect, a ping on every acquire."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import asyncpg
import asyncpg.pool
import msgspec

from faceplate.errors import Unavailable

Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy
Pool = asyncpg.Pool

_ENC: Final = msgspec.json.Encoder()
_DEC: Final = msgspec.json.Decoder()

# Errors of a connection that died while idle in the pool, or of a server that is away.
STALE: Final = (
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    OSError,
)


def _encode_jsonb(value: Any) -> bytes:
    return b"\x01" + _ENC.encode(value)


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


class Database:
    """The pool and how long a caller may wait for one of its connections."""

    def __init__(self, pool: asyncpg.Pool, *, timeout_s: float) -> None:
        self.pool = pool
        self.timeout_s = timeout_s

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        """A live pooled connection, released on exit; the caller owns it meanwhile.

        A connection that fails its ping is closed by the pool and another is taken, so a
        connection killed while idle never reaches the caller. Waiting longer than the
        timeout, or a database that cannot be reached, raises Unavailable.
        """
        conn = await self._acquire()
        try:
            yield conn
        finally:
            await self.pool.release(conn)

    async def _acquire(self) -> asyncpg.pool.PoolConnectionProxy:
        deadline = time.monotonic() + self.timeout_s
        # Every idle connection may have died at once (a database restart): try each in turn.
        for _ in range(self.pool.get_max_size() + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                conn: asyncpg.pool.PoolConnectionProxy = await self.pool.acquire(timeout=remaining)
            except TimeoutError as e:
                raise Unavailable("database pool exhausted") from e
            except STALE:
                continue
            return conn
        raise Unavailable("database unreachable")

    async def close(self) -> None:
        await self.pool.close()


async def open_database(
    dsn: str, *, min_size: int = 5, max_size: int = 20, timeout_s: float = 30.0
) -> Database:
    """Open the pool; raises Unavailable when the database cannot be reached."""
    try:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=_init,
            setup=_ping,
            command_timeout=60,
            # Below the idle timeout of the usual load balancers and NAT gateways.
            max_inactive_connection_lifetime=300,
            timeout=timeout_s,
        )
    except (*STALE, TimeoutError) as e:
        raise Unavailable(f"database unreachable: {type(e).__name__}") from e
    return Database(pool, timeout_s=timeout_s)


def rowcount(status: str) -> int:
    """The row count of a command status such as 'UPDATE 3'."""
    return int(status.rsplit(" ", 1)[1])
