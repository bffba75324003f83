"""Where the shipped SQL files and migrations live, in a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _shipped(installed: str, checkout: str) -> Path:
    inside = _PACKAGE / installed
    return inside if inside.is_dir() else _PACKAGE.parent / checkout


SQL_DIR = _shipped("_sql", "sql")
MIGRATIONS_DIR = _shipped("_migrations", "migrations")
