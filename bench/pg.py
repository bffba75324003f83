"""The bench's database: a scratch database, migrated, on a given server or an embedded one."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.sql import SQL, Identifier

from faceplate import migrate

_CREATE: Final = SQL("CREATE DATABASE {}")
_DROP: Final = SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")


@dataclass(frozen=True)
class BenchDatabase:
    url: str
    kind: str  # "embedded" or "server"
    server_version: str


def with_database(url: str, name: str) -> str:
    """The same server URL, pointing at another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextlib.contextmanager
def bench_database(server_url: str | None, workdir: Path) -> Iterator[BenchDatabase]:
    """A fresh, migrated database, dropped on exit.

    With `server_url` it is created on that server (the role needs CREATEDB); without, an
    embedded PostgreSQL starts in `workdir` and is deleted when this process exits.
    """
    kind = "server"
    if server_url is None:
        from faceplate.embedded import start_embedded

        server_url = start_embedded(workdir / "embedded", cleanup="delete")
        kind = "embedded"
    name = f"faceplate_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(_CREATE.format(Identifier(name)))
        row = admin.execute("SHOW server_version").fetchone()
    version = str(row[0]) if row else "?"
    url = with_database(server_url, name)
    try:
        migrate.apply(url)
        yield BenchDatabase(url=url, kind=kind, server_version=version)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(_DROP.format(Identifier(name)))
