from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from faceplate.db import Database
from faceplate.paths import SQL_DIR
from faceplate.sql import QUERIES, SqlHeaderError, load_all, parse

_FILES = sorted(SQL_DIR.rglob("*.sql"))


def test_every_file_is_loaded() -> None:
    assert {p.stem for p in _FILES} == set(QUERIES)


@pytest.mark.parametrize("path", _FILES, ids=lambda p: p.stem)
async def test_header_matches_the_prepared_statement(db: Database, path: Path) -> None:
    query = QUERIES[path.stem]
    async with db.connection() as conn:
        stmt = await conn.prepare(query.text)
        params = [t.name for t in stmt.get_parameters()]
        returned = [(a.name, a.type.name) for a in stmt.get_attributes()]
    assert params == [p.type for p in query.params]
    assert returned == [(c.name, c.type) for c in query.columns]


def test_file_name_must_equal_query_name(tmp_path: Path) -> None:
    with pytest.raises(SqlHeaderError, match="differs"):
        parse(tmp_path / "x.sql", "-- name: y :one\n-- returns: a int4\nSELECT 1 AS a;")


def test_unknown_cardinality_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SqlHeaderError, match="cardinality"):
        parse(tmp_path / "x.sql", "-- name: x :some\n-- returns: a int4\nSELECT 1 AS a;")


def test_parameters_must_be_in_order(tmp_path: Path) -> None:
    text = "-- name: x :one\n-- $2 a :: int4\n-- returns: a int4\nSELECT $2::int4 AS a;"
    with pytest.raises(SqlHeaderError, match="in order"):
        parse(tmp_path / "x.sql", text)


def test_missing_returns_line_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SqlHeaderError, match="returns"):
        parse(tmp_path / "x.sql", "-- name: x :exec\nSELECT 1;")


def test_missing_name_line_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SqlHeaderError, match="first line"):
        parse(tmp_path / "x.sql", "SELECT 1;")


def test_bad_column_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SqlHeaderError, match="returned column"):
        parse(tmp_path / "x.sql", "-- name: x :one\n-- returns: a b c\nSELECT 1;")


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.sql").write_text("-- name: x :exec\n-- returns: nothing\nSELECT 1;")
    with pytest.raises(SqlHeaderError, match="duplicate"):
        load_all(tmp_path)


async def test_prepare_fails_on_a_wrong_column(db: Database) -> None:
    async with db.connection() as conn:
        with pytest.raises(asyncpg.UndefinedColumnError):
            await conn.prepare("SELECT u.nope FROM faceplate.users AS u")
