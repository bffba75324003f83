from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import asyncpg
import pytest

from faceplate.cluster.listener import Listener
from tests.cluster.conftest import Recorder
from tests.support.pgserver import RestartablePostgres, terminate_backends


def _listener(dsn: str, recorder: Recorder, *channels: str, **options: float) -> Listener:
    return Listener(
        dsn,
        channels or ("a",),
        recorder.notify,
        recorder.lost,
        recorder.restored,
        **options,  # type: ignore[arg-type]
    )


async def _notify(dsn: str, *pairs: tuple[str, str]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for channel, payload in pairs:
                await conn.execute("SELECT pg_notify($1, $2)", channel, payload)
    finally:
        await conn.close()


async def test_notifications_of_each_channel_arrive_in_order(
    database_url: str, recorder: Recorder
) -> None:
    listener = _listener(database_url, recorder, "a", "b")
    await listener.start()
    try:
        assert listener.connected
        await _notify(database_url, ("a", "1"), ("b", "2"), ("c", "not ours"), ("a", "3"))
        await recorder.until(lambda: len(recorder.payloads) == 3)
        assert recorder.events == [("notify", "a", "1"), ("notify", "b", "2"), ("notify", "a", "3")]
    finally:
        await listener.stop()


async def test_the_connection_is_not_a_pooled_one_and_names_itself(
    database_url: str, recorder: Recorder
) -> None:
    listener = _listener(database_url, recorder, application_name="faceplate test listener")
    await listener.start()
    try:
        conn = await asyncpg.connect(database_url)
        try:
            row = await conn.fetchrow(
                "SELECT a.application_name FROM pg_stat_activity AS a WHERE a.pid = $1",
                listener.backend_pid,
            )
            channels = await conn.fetchval("SELECT count(*) FROM pg_listening_channels()")
        finally:
            await conn.close()
        assert row is not None and row["application_name"] == "faceplate test listener"
        assert channels == 0  # LISTEN is the listener's session state, nobody else's
    finally:
        await listener.stop()


async def test_a_terminated_backend_is_noticed_and_listening_resumes(
    database_url: str, recorder: Recorder
) -> None:
    listener = _listener(database_url, recorder, application_name="faceplate killed listener")
    await listener.start()
    try:
        first = listener.backend_pid
        assert terminate_backends(database_url, "faceplate killed listener") == 1
        await recorder.until(lambda: recorder.kinds == ["lost", "restored"])
        assert listener.connected and listener.backend_pid != first
        await _notify(database_url, ("a", "after"))
        await recorder.until(lambda: recorder.payloads == ["after"])
        assert (listener.losses, listener.restores) == (1, 1)
    finally:
        await listener.stop()


async def test_a_postgresql_restart_is_noticed_and_listening_resumes(
    restartable_pg: RestartablePostgres, recorder: Recorder
) -> None:
    url = restartable_pg.url
    listener = _listener(url, recorder, "a", "b", check_interval_s=0.5)
    await listener.start()
    try:
        await asyncio.to_thread(restartable_pg.stop)
        await recorder.until(lambda: recorder.kinds == ["lost"])
        assert not listener.connected
        await asyncio.to_thread(restartable_pg.start)
        await recorder.until(lambda: recorder.kinds == ["lost", "restored"])
        await _notify(url, ("b", "back"))
        await recorder.until(lambda: recorder.payloads == ["back"])
    finally:
        await listener.stop()


async def test_a_database_away_at_start_is_reported_lost_then_restored(
    restartable_pg: RestartablePostgres, recorder: Recorder
) -> None:
    await asyncio.to_thread(restartable_pg.stop)
    listener = _listener(restartable_pg.url, recorder, connect_timeout_s=1)
    try:
        await listener.start()
        assert recorder.kinds == ["lost"] and not listener.connected
        await asyncio.to_thread(restartable_pg.start)
        await recorder.until(lambda: recorder.kinds == ["lost", "restored"])
        await _notify(restartable_pg.url, ("a", "hello"))
        await recorder.until(lambda: recorder.payloads == ["hello"])
    finally:
        await listener.stop()
        if not _answers(restartable_pg):
            await asyncio.to_thread(restartable_pg.start)


def _answers(pg: RestartablePostgres) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", pg.tcp_port)) == 0


class Blackhole:
    """A TCP proxy to PostgreSQL that can go silent: bytes still accepted, nothing answered, no
    FIN or RST, as a peer behind a dead network path."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self.silent = False
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        self._writers += [writer, up_writer]
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while data := await source.read(65536):
            if not self.silent:
                sink.write(data)
                await sink.drain()
        sink.close()  # one side closed: so does the other, as a plain TCP path would

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()


@pytest.fixture
async def blackhole(restartable_pg: RestartablePostgres) -> AsyncIterator[Blackhole]:
    proxy = Blackhole(restartable_pg.tcp_port)
    try:
        yield proxy
    finally:
        await proxy.close()


async def test_a_silent_peer_fails_the_check_and_listening_resumes(
    blackhole: Blackhole, recorder: Recorder
) -> None:
    port = await blackhole.start()
    dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    listener = _listener(dsn, recorder, check_interval_s=0.3, check_timeout_s=0.5)
    await listener.start()
    try:
        blackhole.silent = True  # nothing closes: only the check can tell
        await recorder.until(lambda: recorder.kinds == ["lost"])
        blackhole.silent = False
        await recorder.until(lambda: recorder.kinds == ["lost", "restored"])
        await _notify(dsn, ("a", "through"))
        await recorder.until(lambda: recorder.payloads == ["through"])
    finally:
        await listener.stop()


async def test_a_tcp_connection_keeps_itself_alive(
    restartable_pg: RestartablePostgres, recorder: Recorder
) -> None:
    listener = _listener(restartable_pg.tcp_url, recorder, check_interval_s=2, check_timeout_s=3)
    await listener.start()
    try:
        sock = listener._conn._transport.get_extra_info("socket")  # type: ignore[union-attr]
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 2
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 5000
    finally:
        await listener.stop()


async def test_a_failing_callback_does_not_stop_the_listener(
    database_url: str, recorder: Recorder
) -> None:
    def notify(channel: str, payload: str) -> None:
        recorder.notify(channel, payload)
        if payload == "boom":
            raise RuntimeError("a bug in the owner")

    listener = Listener(database_url, ["a"], notify, recorder.lost, recorder.restored)
    await listener.start()
    try:
        await _notify(database_url, ("a", "boom"))
        await _notify(database_url, ("a", "next"))
        await recorder.until(lambda: recorder.payloads == ["boom", "next"])
        assert listener.connected
    finally:
        await listener.stop()


async def test_nothing_is_reported_after_stop(database_url: str, recorder: Recorder) -> None:
    listener = _listener(database_url, recorder, application_name="faceplate stopped listener")
    await listener.start()
    await listener.stop()
    assert not listener.connected and listener.backend_pid is None
    assert terminate_backends(database_url, "faceplate stopped listener") == 0
    witness = Recorder()
    other = _listener(database_url, witness)
    await other.start()
    try:
        await _notify(database_url, ("a", "late"))
        await witness.until(lambda: witness.payloads == ["late"])
    finally:
        await other.stop()
    assert recorder.events == []


async def test_a_listener_starts_once(database_url: str, recorder: Recorder) -> None:
    listener = _listener(database_url, recorder)
    await listener.start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            await listener.start()
    finally:
        await listener.stop()
