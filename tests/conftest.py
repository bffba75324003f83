from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg.sql import SQL, Identifier
from starlette.testclient import TestClient

from faceplate import migrate
from faceplate.app import create_app
from faceplate.db import Database, open_database
from faceplate.settings import Settings
from tests.support.app import bearer, dev_settings, dev_token
from tests.support.jwks import JwksServer, SigningKey, new_signing_key

# One template per xdist worker: workers may share one server (FACEPLATE_TEST_DATABASE_URL).
TEMPLATE = f"faceplate_template_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"

# Database names cannot be parameters: psycopg quotes them as identifiers.
_CREATE = SQL("CREATE DATABASE {}")
_CREATE_FROM = SQL("CREATE DATABASE {} TEMPLATE {}")
_DROP = SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")


def with_database(url: str, name: str) -> str:
    """The same server URL, pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _docker_postgres(stack: ExitStack) -> str | None:
    """A postgres:18 container on tmpfs when a Docker engine answers, else None."""
    try:
        import docker
        from testcontainers.postgres import PostgresContainer

        docker.from_env(timeout=3).ping()
    except Exception:
        return None
    container = PostgresContainer("postgres:18", driver=None)
    container.with_kwargs(tmpfs={"/var/lib/postgresql": "rw"})
    container.with_command(
        "postgres -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c jit=off -c max_connections=300"
    )
    stack.enter_context(container)
    url: str = container.get_connection_url()
    return url


def _embedded_postgres(stack: ExitStack) -> str:
    from faceplate.embedded import start_embedded

    data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="faceplate-test-")))
    url = start_embedded(data, cleanup="delete")
    with psycopg.connect(url, autocommit=True) as admin:
        # A throwaway server: durability buys nothing and costs the suite its speed.
        admin.execute("ALTER SYSTEM SET fsync = off")
        admin.execute("ALTER SYSTEM SET synchronous_commit = off")
        admin.execute("ALTER SYSTEM SET full_page_writes = off")
        admin.execute("ALTER SYSTEM SET jit = off")
        admin.execute("SELECT pg_reload_conf()")
    return url


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    with ExitStack() as stack:
        url = os.environ.get("FACEPLATE_TEST_DATABASE_URL") or _docker_postgres(stack)
        yield url or _embedded_postgres(stack)


@pytest.fixture(scope="session")
def template_url(pg_server_url: str) -> str:
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute(_DROP.format(Identifier(TEMPLATE)))
        admin.execute(_CREATE.format(Identifier(TEMPLATE)))
    url = with_database(pg_server_url, TEMPLATE)
    migrate.apply(url)
    return url


def _scratch_database(server_url: str, prefix: str, template: str | None) -> Iterator[str]:
    """A new database on the server, dropped (connections and all) when the test ends."""
    name = f"{prefix}_{uuid.uuid4().hex}"
    create = (
        _CREATE.format(Identifier(name))
        if template is None
        else _CREATE_FROM.format(Identifier(name), Identifier(template))
    )
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(create)
    try:
        yield with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(_DROP.format(Identifier(name)))


@pytest.fixture
def database_url(pg_server_url: str, template_url: str) -> Iterator[str]:
    yield from _scratch_database(pg_server_url, "t", TEMPLATE)


@pytest.fixture
def empty_database_url(pg_server_url: str) -> Iterator[str]:
    yield from _scratch_database(pg_server_url, "e", None)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await open_database(database_url, min_size=1, max_size=20, timeout_s=5)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return dev_settings(database_url, tmp_path / "data")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def alice(settings: Settings) -> dict[str, str]:
    return bearer(dev_token(settings, "alice@example.com"))


@pytest.fixture
def bob(settings: Settings) -> dict[str, str]:
    return bearer(dev_token(settings, "bob@example.com"))


# --- a live JWKS server and its keys, for Cognito-mode tests ---------------------------------


@pytest.fixture(scope="session")
def key() -> SigningKey:
    return new_signing_key("key-a")


@pytest.fixture(scope="session")
def second_key() -> SigningKey:
    return new_signing_key("key-b")


@pytest.fixture(scope="session")
def session_jwks(key: SigningKey) -> Iterator[JwksServer]:
    with JwksServer([key]) as server:
        yield server


@pytest.fixture
def jwks(session_jwks: JwksServer, key: SigningKey) -> JwksServer:
    """The session's JWKS server, reset to publish `key` only, with a zero hit count."""
    session_jwks.publish([key])
    session_jwks.failing = False
    session_jwks.reset_hits()
    return session_jwks
