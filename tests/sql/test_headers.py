from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

import faceplate
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


# --- each queries/*.py wrapper agrees with its file's header ------------------------------------

_PACKAGE = Path(faceplate.__file__).parent
_CALLS = {
    "one": "fetchrow",
    "many": "fetch",
    "scalar": "fetchval",
    "exec": "execute",
    "execrows": "execute",
}


@dataclass(frozen=True)
class Wrapper:
    """What a typed query function says about its SQL, read from its source."""

    where: str
    docstring: str
    positional: list[str]
    keywords: list[str]
    calls: list[tuple[str, str | None, list[set[str]]]]  # (method, query name, names per arg)


def _query_names(tree: ast.Module) -> dict[str, str]:
    """Module constants `_X: Final = QUERIES["name"].text`, by constant."""
    names: dict[str, str] = {}
    for node in tree.body:
        target, value = (
            (node.target, node.value)
            if isinstance(node, ast.AnnAssign)
            else (node.targets[0], node.value)
            if isinstance(node, ast.Assign)
            else (None, None)
        )
        match target, value:
            case (
                ast.Name(id=constant),
                ast.Attribute(
                    attr="text",
                    value=ast.Subscript(value=ast.Name(id="QUERIES"), slice=ast.Constant(key)),
                ),
            ):
                names[constant] = key
    return names


def _wrappers() -> list[Wrapper]:
    found = []
    for path in sorted((_PACKAGE / "queries").glob("*.py")):
        tree = ast.parse(path.read_text())
        constants = _query_names(tree)
        for fn in tree.body:
            if not isinstance(fn, ast.AsyncFunctionDef) or fn.name.startswith("_"):
                continue
            calls = []
            for node in ast.walk(fn):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in set(_CALLS.values())
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "conn"
                ):
                    first = node.args[0] if node.args else None
                    query = constants.get(first.id) if isinstance(first, ast.Name) else None
                    names = [
                        {n.id for n in ast.walk(arg) if isinstance(n, ast.Name)}
                        | ({"*"} if isinstance(arg, ast.Starred) else set())
                        for arg in node.args[1:]
                    ]
                    calls.append((node.func.attr, query, names))
            found.append(
                Wrapper(
                    where=f"{path.stem}.{fn.name}",
                    docstring=ast.get_docstring(fn) or "",
                    positional=[a.arg for a in fn.args.posonlyargs + fn.args.args],
                    keywords=[a.arg for a in fn.args.kwonlyargs],
                    calls=calls,
                )
            )
    return found


_WRAPPERS = _wrappers()


def test_every_query_has_exactly_one_wrapper() -> None:
    used = sorted(query for w in _WRAPPERS for _, query, _ in w.calls if query is not None)
    assert used == sorted(QUERIES)


@pytest.mark.parametrize("wrapper", _WRAPPERS, ids=lambda w: w.where)
def test_wrapper_agrees_with_its_sql_header(wrapper: Wrapper) -> None:
    assert len(wrapper.calls) == 1, "one statement per wrapper"
    method, name, arguments = wrapper.calls[0]
    assert name is not None, "the statement's text is a QUERIES[...].text constant"
    query = QUERIES[name]
    assert wrapper.docstring.startswith(f"sql/{Path(query.path).relative_to(SQL_DIR)}")
    assert method == _CALLS[query.cardinality], f":{query.cardinality} is conn.{method}"
    assert wrapper.positional == ["conn"]
    params = [p.name for p in query.params]
    assert wrapper.keywords == params, "keyword parameters are the header's $n names, in order"
    assert len(arguments) == len(params)
    for n, (param, names) in enumerate(zip(params, arguments, strict=True), start=1):
        assert names & set(params) == {param}, f"${n} is {param}"


def test_every_wrapper_is_used_by_the_app() -> None:
    """A query nothing calls is dropped, not kept in step with the schema for nobody."""
    referenced: set[str] = set()
    for path in _PACKAGE.rglob("*.py"):
        if path.parent.name == "queries":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                referenced.add(node.attr)
            elif isinstance(node, ast.Name):
                referenced.add(node.id)
            elif isinstance(node, ast.alias):
                referenced.add(node.name)
    unused = [w.where for w in _WRAPPERS if w.where.split(".")[1] not in referenced]
    assert unused == []
