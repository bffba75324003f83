"""Loads every SQL file under sql/ once, checking the header that describes it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Literal, LiteralString, cast

import msgspec

from faceplate.paths import SQL_DIR

Cardinality = Literal["one", "many", "exec", "execrows", "scalar"]
_CARDINALITIES: Final = ("one", "many", "exec", "execrows", "scalar")

_NAME = re.compile(r"^-- name: (?P<name>[a-z_][a-z0-9_]*) :(?P<card>[a-z]+)$")
_PARAM = re.compile(
    r"^-- \$(?P<n>\d+) (?P<name>[a-z_][a-z0-9_]*) :: (?P<type>[a-z0-9_]+(?:\[\])?)(?:  \(.*\))?$"
)
_RETURNS = re.compile(r"^-- returns: (?P<cols>.+)$")
_COLUMN = re.compile(r"^(?P<name>[a-z_][a-z0-9_]*) (?P<type>[a-z0-9_]+(?:\[\])?)$")


class SqlHeaderError(Exception):
    """An SQL file's header is malformed, or two files share a name."""


class Column(msgspec.Struct, frozen=True):
    name: str
    type: str


class Query(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    cardinality: Cardinality
    params: tuple[Column, ...]
    columns: tuple[Column, ...]
    path: str
    text: LiteralString


def parse(path: Path, text: str) -> Query:
    """Parse one SQL file; raise SqlHeaderError naming the file on any header fault."""
    lines = text.splitlines()
    head = _NAME.match(lines[0]) if lines else None
    if head is None:
        raise SqlHeaderError(f"{path}: first line must be '-- name: <name> :<cardinality>'")
    name, card = head["name"], head["card"]
    if card not in _CARDINALITIES:
        raise SqlHeaderError(f"{path}: unknown cardinality :{card}")
    if name != path.stem:
        raise SqlHeaderError(f"{path}: name {name!r} differs from the file name")
    params: list[Column] = []
    columns: tuple[Column, ...] = ()
    returns_seen = False
    for line in lines[1:]:
        if not line.startswith("--"):
            break
        if param := _PARAM.match(line):
            if int(param["n"]) != len(params) + 1:
                raise SqlHeaderError(f"{path}: parameters must be listed $1, $2, … in order")
            params.append(Column(param["name"], param["type"]))
        elif ret := _RETURNS.match(line):
            returns_seen = True
            if card in ("one", "many", "scalar"):
                columns = tuple(_column(path, c) for c in ret["cols"].split(", "))
    if not returns_seen:
        raise SqlHeaderError(f"{path}: a '-- returns:' line is required")
    return Query(
        name=name,
        cardinality=cast(Cardinality, card),
        params=tuple(params),
        columns=columns,
        path=str(path),
        text=text,  # the files under sql/ are constants of the project
    )


def _column(path: Path, spec: str) -> Column:
    col = _COLUMN.match(spec.strip())
    if col is None:
        raise SqlHeaderError(f"{path}: bad returned column {spec!r}, expected 'name type'")
    return Column(col["name"], col["type"])


def load_all(root: Path) -> dict[str, Query]:
    """Every query under `root`, by name; duplicate names are an error."""
    queries: dict[str, Query] = {}
    for path in sorted(root.rglob("*.sql")):
        query = parse(path, path.read_text(encoding="utf-8"))
        if query.name in queries:
            raise SqlHeaderError(f"{path}: duplicate query name {query.name!r}")
        queries[query.name] = query
    return queries


QUERIES: Final[Mapping[str, Query]] = load_all(SQL_DIR)
