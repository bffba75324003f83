"""Applies, rolls back and lists the yoyo migrations under migrations/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faceplate.paths import MIGRATIONS_DIR


def yoyo_url(database_url: str) -> str:
    """The yoyo form of a libpq URL: yoyo needs the psycopg 3 driver named in the scheme."""
    scheme, sep, rest = database_url.partition("://")
    if not sep:
        raise ValueError("database URL must look like postgresql://user@host/db")
    if scheme in ("postgresql", "postgres"):
        scheme = "postgresql+psycopg"
    return f"{scheme}://{rest}"


def _backend_and_migrations(database_url: str, directory: Path) -> tuple[Any, Any]:
    from yoyo import get_backend, read_migrations

    return get_backend(yoyo_url(database_url)), read_migrations(str(directory))


def apply(database_url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every pending migration; return the ids applied."""
    backend, migrations = _backend_and_migrations(database_url, directory)
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    backend.connection.close()
    return [m.id for m in pending]


def rollback(
    database_url: str, directory: Path = MIGRATIONS_DIR, *, all: bool = False
) -> list[str]:
    """Roll back the newest applied migration (or all of them); return the ids rolled back."""
    backend, migrations = _backend_and_migrations(database_url, directory)
    with backend.lock():
        applied = backend.to_rollback(migrations)
        chosen = applied if all else applied[:1]
        backend.rollback_migrations(chosen)
    backend.connection.close()
    return [m.id for m in chosen]


def status(database_url: str, directory: Path = MIGRATIONS_DIR) -> list[tuple[str, bool]]:
    """Every migration id with whether it is applied, oldest first."""
    backend, migrations = _backend_and_migrations(database_url, directory)
    applied = {m.id for m in migrations if backend.is_applied(m)}
    backend.connection.close()
    return [(m.id, m.id in applied) for m in migrations]


def migration_ids(directory: Path = MIGRATIONS_DIR) -> frozenset[str]:
    """The ids of the migrations shipped with this code: what 'at head' means."""
    return frozenset(
        p.name.removesuffix(".sql")
        for p in directory.glob("*.sql")
        if not p.name.endswith(".rollback.sql")
    )
