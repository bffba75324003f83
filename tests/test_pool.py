from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg
import msgspec
import pytest

from faceplate.db import Conn, Database, open_database
from faceplate.errors import Unavailable
from faceplate.structs import ImageBlock, TextBlock, ToolResult

# The pool's own connections to the test's database: the observer leaves itself out.
_POOL_BACKENDS: Final = (
    "SELECT array_agg(a.pid ORDER BY a.pid) FROM pg_stat_activity AS a"
    " WHERE a.datname = current_database() AND a.backend_type = 'client backend'"
    " AND a.pid <> pg_backend_pid()"
)
# Every client connection to the test's database, the asking one included.
_DATABASE_BACKENDS: Final = (
    "SELECT count(*) FROM pg_stat_activity AS a"
    " WHERE a.datname = current_database() AND a.backend_type = 'client backend'"
)
# Waits (up to 5 s) until each backend has exited, as a server restart would have it.
_TERMINATE: Final = "SELECT bool_and(pg_terminate_backend(p, 5000)) FROM unnest($1::int4[]) AS p"

_RESULT: Final = ToolResult(
    tool_call_id="call_1",
    name="search__web",
    is_error=False,
    content=[TextBlock(text="naïve ✓ 🚀"), ImageBlock(data="iVBORw0KGgo=", mime_type="image/png")],
    duration_ms=42,
)


@asynccontextmanager
async def _observer(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


@asynccontextmanager
async def _database(database_url: str, **sizes: Any) -> AsyncIterator[Database]:
    database = await open_database(database_url, **sizes)
    try:
        yield database
    finally:
        await database.close()


async def _pool_backends(observer: asyncpg.Connection) -> list[int]:
    pids: list[int] | None = await observer.fetchval(_POOL_BACKENDS)
    return pids or []


async def _backend_pid(conn: Conn) -> int:
    pid: int = await conn.fetchval("SELECT pg_backend_pid()")
    return pid


async def test_connection_killed_while_idle_is_replaced(database_url: str) -> None:
    async with (
        _database(database_url, min_size=1, max_size=2, timeout_s=5) as db,
        _observer(database_url) as observer,
    ):
        async with db.connection() as conn:
            killed = await _backend_pid(conn)
        assert await observer.fetchval(_TERMINATE, [killed])
        async with db.connection() as conn:
            replacement = await _backend_pid(conn)
            assert await conn.fetchval("SELECT 41 + 1") == 42
    assert replacement != killed


async def test_every_idle_connection_killed_at_once_is_replaced(database_url: str) -> None:
    async with (
        _database(database_url, min_size=5, max_size=20, timeout_s=5) as db,
        _observer(database_url) as observer,
    ):
        killed = await _pool_backends(observer)
        assert len(killed) == 5
        assert await observer.fetchval(_TERMINATE, killed)
        async with AsyncExitStack() as held:
            conns = [await held.enter_async_context(db.connection()) for _ in range(5)]
            replacements = {await _backend_pid(c) for c in conns}
    assert len(replacements) == 5
    assert not replacements & set(killed)


class _HeldOpenProxy:
    """A TCP proxy that hides the server's first close from the client until it writes again.

    When a server ends a connection, the client reads the FATAL message and the EOF behind it
    in separate steps; a connection taken from the pool in between looks open but is dead.
    The proxy holds that window open so the test does not depend on the event loop's timing.
    """

    def __init__(self, database_url: str) -> None:
        parts = urlsplit(database_url)
        host = parse_qs(parts.query).get("host", [parts.hostname or "localhost"])[0]
        port = parts.port or 5432
        self._unix = f"{host}/.s.PGSQL.{port}" if host.startswith("/") else None
        self._tcp = (host, port)
        self._database_url = database_url
        self._writers: list[asyncio.StreamWriter] = []
        self.server_closed = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> _HeldOpenProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        parts = urlsplit(self._database_url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{port}"
        # Plain TCP, so that what the client reads and when is what the server sent.
        self.url = urlunsplit(parts._replace(netloc=netloc, query="sslmode=disable"))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        for writer in self._writers:
            with suppress(OSError):
                await writer.wait_closed()
        await self._server.wait_closed()

    async def _serve(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        if self._unix is not None:
            server_reader, server_writer = await asyncio.open_unix_connection(self._unix)
        else:
            server_reader, server_writer = await asyncio.open_connection(*self._tcp)
        self._writers += [client_writer, server_writer]
        gone = asyncio.Event()

        async def to_client() -> None:
            while data := await server_reader.read(65536):
                client_writer.write(data)
                await client_writer.drain()
            gone.set()
            if self.server_closed.is_set():
                client_writer.close()
            self.server_closed.set()

        async def to_server() -> None:
            while (data := await client_reader.read(65536)) and not gone.is_set():
                server_writer.write(data)
                await server_writer.drain()
            client_writer.close()
            server_writer.close()

        try:
            await asyncio.gather(to_client(), to_server())
        except OSError:
            client_writer.close()
            server_writer.close()


async def test_connection_whose_server_went_away_unnoticed_is_replaced(
    database_url: str,
) -> None:
    async with (
        _HeldOpenProxy(database_url) as proxy,
        _database(proxy.url, min_size=1, max_size=2, timeout_s=5) as db,
        _observer(database_url) as observer,
    ):
        async with db.connection() as conn:
            killed = await _backend_pid(conn)
        assert await observer.fetchval(_TERMINATE, [killed])
        await asyncio.wait_for(proxy.server_closed.wait(), timeout=5)
        await asyncio.sleep(0.1)  # for the client to read the FATAL message the proxy passed on
        async with db.connection() as conn:
            assert await conn.fetchval("SELECT 41 + 1") == 42


async def test_pool_never_holds_more_than_max_size(database_url: str) -> None:
    seen: list[int] = []

    async def one_turn(db: Database) -> None:
        async with db.connection() as conn:
            seen.append(await conn.fetchval(_DATABASE_BACKENDS))
            await conn.execute("SELECT pg_sleep(0.02)")

    async with _database(database_url, min_size=1, max_size=20, timeout_s=5) as db:
        await asyncio.gather(*(one_turn(db) for _ in range(60)))
    assert len(seen) == 60
    assert max(seen) <= 20


async def test_twenty_held_connections_are_twenty_backends(database_url: str) -> None:
    async with (
        _database(database_url, min_size=1, max_size=20, timeout_s=0.5) as db,
        _observer(database_url) as observer,
        AsyncExitStack() as held,
    ):
        for _ in range(20):
            await held.enter_async_context(db.connection())
        assert len(await _pool_backends(observer)) == 20


async def test_acquire_beyond_max_size_is_unavailable_after_the_timeout(
    database_url: str,
) -> None:
    async with (
        _database(database_url, min_size=1, max_size=20, timeout_s=0.5) as db,
        _observer(database_url) as observer,
        AsyncExitStack() as held,
    ):
        for _ in range(20):
            await held.enter_async_context(db.connection())
        started = time.monotonic()
        with pytest.raises(Unavailable):
            async with db.connection():
                pass
        waited = time.monotonic() - started
        assert len(await _pool_backends(observer)) == 20
    assert 0.4 <= waited < 2.0


async def test_acquire_works_again_once_a_connection_is_released(database_url: str) -> None:
    async with _database(database_url, min_size=1, max_size=20, timeout_s=0.5) as db:
        async with AsyncExitStack() as held:
            for _ in range(20):
                await held.enter_async_context(db.connection())
            with pytest.raises(Unavailable):
                async with db.connection():
                    pass
        async with db.connection() as conn:
            assert await conn.fetchval("SELECT 1") == 1


async def test_waiting_acquire_gets_the_connection_released_meanwhile(
    database_url: str,
) -> None:
    async with (
        _database(database_url, min_size=1, max_size=1, timeout_s=2) as db,
        AsyncExitStack() as held,
    ):
        first = await held.enter_async_context(db.connection())
        pid = await _backend_pid(first)

        async def second_caller() -> int:
            async with db.connection() as conn:
                return await _backend_pid(conn)

        waiting = asyncio.create_task(second_caller())
        await asyncio.sleep(0.1)
        assert not waiting.done()
        await held.aclose()
        assert await asyncio.wait_for(waiting, timeout=2) == pid


async def test_struct_passed_as_jsonb_comes_back_as_the_same_data(db: Database) -> None:
    async with db.connection() as conn:
        value = await conn.fetchval("SELECT $1::jsonb", _RESULT)
        kind = await conn.fetchval("SELECT jsonb_typeof($1::jsonb -> 'content')", _RESULT)
    assert value == msgspec.to_builtins(_RESULT)
    assert msgspec.convert(value, ToolResult) == _RESULT
    assert kind == "array"


async def test_struct_passed_as_json_comes_back_as_the_same_data(db: Database) -> None:
    async with db.connection() as conn:
        value = await conn.fetchval("SELECT $1::json", _RESULT)
    assert msgspec.convert(value, ToolResult) == _RESULT


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_unreachable_database_is_unavailable() -> None:
    url = f"postgresql://nobody:secret@127.0.0.1:{_closed_port()}/nothing"
    started = time.monotonic()
    with pytest.raises(Unavailable):
        await open_database(url, min_size=1, max_size=2, timeout_s=2)
    assert time.monotonic() - started < 2.0


async def test_nul_in_jsonb_strings_is_replaced_but_escaped_backslashes_survive(
    database_url: str,
) -> None:
    db = await open_database(database_url, min_size=1, max_size=1, timeout_s=5)
    try:
        async with db.connection() as conn:
            value = await conn.fetchval(
                "SELECT $1::jsonb", {"a": "x\u0000y", "b": "\\u0000", "c": "\\\u0000"}
            )
    finally:
        await db.close()
    assert value == {"a": "x\ufffdy", "b": "\\u0000", "c": "\\\ufffd"}
