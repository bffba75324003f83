"""The instance's listening connection: LISTEN on a dedicated connection that notices its death.

The connection lives outside the pool, because a pooled connection's release may run
`UNLISTEN *`, and a pool hands connections to whoever asks. A listening connection that died
silently is the known failure of LISTEN/NOTIFY: a socket waits forever for frames that went to
nobody. So this one is checked: TCP keepalives (and a TCP user timeout) on the socket, and a
`SELECT 1` every `check_interval_s` that must answer within `check_timeout_s`. A PostgreSQL
restart is noticed at once (the server closes the connection), a dead peer within
`check_interval_s + check_timeout_s`.

The callbacks alternate strictly: `on_lost` when the listener notices it is no longer
listening (or when the first connection in `start` fails), `on_restored` once a new connection
LISTENs again on every channel. Whatever was notified meanwhile went to nobody, so the owner of
the sockets resynchronises them in `on_restored` (or closes them in `on_lost`). `on_notify` is
called in arrival order, only between a restore (or a successful start) and the next loss:
notifications that arrive while LISTEN is being set up again are held and delivered right after
`on_restored`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Sequence
from typing import Any, Final

import asyncpg

from faceplate.db import STALE

_log = logging.getLogger(__name__)

# What a dead or refusing server raises at connect or in the check.
_FAULTS: Final = (*STALE, TimeoutError, asyncpg.PostgresError)

_FIRST_BACKOFF_S: Final = 0.05


class Listener:
    """LISTEN on `channels` over one dedicated connection, reconnecting for as long as it runs.

    Every callback runs in the event loop and must not block; an exception it raises is logged
    and does not stop the listener.
    """

    def __init__(
        self,
        dsn: str,
        channels: Sequence[str],
        on_notify: Callable[[str, str], None],
        on_lost: Callable[[], None],
        on_restored: Callable[[], None],
        *,
        check_interval_s: float = 2.0,
        check_timeout_s: float | None = None,
        connect_timeout_s: float = 5.0,
        max_backoff_s: float = 2.0,
        application_name: str = "faceplate listener",
    ) -> None:
        self._dsn = dsn
        self._channels = tuple(channels)
        self._on_notify = on_notify
        self._on_lost = on_lost
        self._on_restored = on_restored
        self._interval = check_interval_s
        self._check_timeout = check_interval_s if check_timeout_s is None else check_timeout_s
        self._connect_timeout = connect_timeout_s
        self._max_backoff = max_backoff_s
        self._application_name = application_name
        self._conn: asyncpg.Connection | None = None
        self._gone = asyncio.Event()
        self._live = False
        self._held: list[tuple[str, str]] = []
        self._task: asyncio.Task[None] | None = None
        self.losses = 0
        """How many times the listener noticed it had stopped listening."""
        self.restores = 0
        """How many times it listened again after a loss."""

    @property
    def connected(self) -> bool:
        """Listening now: every notification on the channels reaches `on_notify`."""
        return self._live

    @property
    def backend_pid(self) -> int | None:
        """The PostgreSQL process of the listening connection, while there is one."""
        return None if self._conn is None else self._conn.get_server_pid()

    async def start(self) -> None:
        """Connect and LISTEN; when the database is away, call `on_lost` and keep trying."""
        if self._task is not None:
            raise RuntimeError("the listener is already started")
        try:
            await self._open()
        except _FAULTS as e:
            _log.warning("not listening yet, the database is away: %s", _describe(e))
            self._lose()
        else:
            self._deliver_held()
        self._task = asyncio.create_task(self._run(), name="faceplate-listener")

    async def stop(self) -> None:
        """Stop checking and reconnecting, and close the connection; no callback follows."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._live = False
        self._held.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), timeout=self._check_timeout)
            except _FAULTS:
                conn.terminate()

    # --- one connection -------------------------------------------------------------------------

    async def _open(self) -> None:
        async with asyncio.timeout(self._connect_timeout):  # LISTEN included: a silent peer
            conn: asyncpg.Connection = await asyncpg.connect(
                self._dsn,
                timeout=self._connect_timeout,
                server_settings={"application_name": self._application_name},
            )
            try:
                _keepalive(conn, self._interval, self._interval + self._check_timeout)
                self._conn = conn
                self._gone = gone = asyncio.Event()
                conn.add_termination_listener(lambda _: gone.set())
                for channel in self._channels:
                    await conn.add_listener(channel, self._notified)
            except BaseException:
                self._conn = None
                conn.terminate()
                raise
        self._live = True

    def _notified(self, conn: object, pid: int, channel: str, payload: object) -> None:
        if conn is not self._conn:
            return  # a connection already given up: the loss is (being) reported
        if not self._live:
            self._held.append((channel, str(payload)))
            return
        self._call(self._on_notify, channel, str(payload))

    async def _watch(self, conn: asyncpg.Connection, gone: asyncio.Event) -> None:
        """Return once the connection is closed or fails its check."""
        while True:
            try:
                async with asyncio.timeout(self._interval):
                    await gone.wait()
                _log.warning("the listening connection closed")
                return
            except TimeoutError:
                pass
            try:
                # Not asyncpg's own timeout: it waits for a cancel request, which a dead peer
                # never answers. Cancelled here, the connection is dropped at once.
                async with asyncio.timeout(self._check_timeout):
                    await conn.execute("SELECT 1")
            except _FAULTS as e:
                _log.warning("the listening connection failed its check: %s", _describe(e))
                return

    def _lose(self) -> None:
        self._live = False
        self._held.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()
        self.losses += 1
        self._call(self._on_lost)

    async def _run(self) -> None:
        while True:
            conn = self._conn
            if conn is not None:
                await self._watch(conn, self._gone)
                self._lose()
            await self._reconnect()

    async def _reconnect(self) -> None:
        backoff = _FIRST_BACKOFF_S
        while True:
            try:
                await self._open()
                break
            except _FAULTS as e:
                _log.debug("listening again failed: %s", _describe(e))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)
        self.restores += 1
        _log.info("listening again on %s", ", ".join(self._channels))
        self._call(self._on_restored)
        self._deliver_held()

    def _deliver_held(self) -> None:
        held, self._held = self._held, []
        for channel, payload in held:
            if not self._live:
                break
            self._call(self._on_notify, channel, payload)

    def _call(self, callback: Callable[..., None], *args: Any) -> None:
        try:
            callback(*args)
        except Exception:
            _log.exception("a listener callback failed")


def _keepalive(conn: asyncpg.Connection, idle_s: float, dead_after_s: float) -> None:
    """TCP keepalives and a user timeout on the connection's socket, so that a peer that
    vanished (no FIN, no RST) fails reads and writes within seconds, not the kernel's hours."""
    transport: Any = getattr(conn, "_transport", None)  # asyncpg gives no public handle
    sock: Any = None if transport is None else transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # a Unix socket has no peer to lose
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    options = (
        ("TCP_KEEPIDLE", max(1, int(idle_s))),
        ("TCP_KEEPINTVL", 1),
        ("TCP_KEEPCNT", 3),
        ("TCP_USER_TIMEOUT", max(1000, int(dead_after_s * 1000))),
    )
    for name, value in options:
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
