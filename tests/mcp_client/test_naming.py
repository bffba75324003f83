from __future__ import annotations

import re

import pytest

from faceplate.mcp_client.naming import MAX_LENGTH, model_tool_names, slug

VALID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("GitHub", "github"),
        ("My  Server!!", "my-server"),
        ("--weird__name--", "weird_name"),
        ("Café Crème", "cafe-creme"),
        ("a/b.c d", "a-b-c-d"),
        ("日本語", "mcp"),
        ("", "mcp"),
        ("x" * 40, "x" * 24),
        ("abc-" * 10, "abc-abc-abc-abc-abc-abc"),
    ],
)
def test_slug(name: str, expected: str) -> None:
    assert slug(name) == expected


def test_names_join_slug_and_tool() -> None:
    assert model_tool_names([("GitHub", "create_issue"), ("My Files", "read-file")]) == [
        "github__create_issue",
        "my-files__read-file",
    ]


def test_tool_names_keep_case_and_lose_invalid_characters() -> None:
    assert model_tool_names([("fs", "Read File/v2.1")]) == ["fs__Read_File_v2_1"]


def test_names_are_at_most_64_characters() -> None:
    [name] = model_tool_names([("a" * 100, "t" * 100)])

    assert len(name) == MAX_LENGTH
    assert name.startswith("a" * 24 + "__ttt")


def test_same_slug_gets_a_suffix() -> None:
    names = model_tool_names([("GitHub", "search"), ("github!", "search"), ("GITHUB", "search")])

    assert names == ["github__search", "github__search_2", "github__search_3"]


def test_truncation_clash_gets_a_suffix_within_64() -> None:
    long = "x" * 70
    names = model_tool_names([("s", long + "a"), ("s", long + "b")])

    assert names[0] == ("s__" + long)[:64]
    assert names[1] == ("s__" + long)[:62] + "_2"
    assert all(len(name) <= MAX_LENGTH for name in names)


def test_natural_names_win_over_suffixes() -> None:
    names = model_tool_names([("a", "t"), ("A", "t"), ("a", "t_2")])

    assert names == ["a__t", "a__t_3", "a__t_2"]


def test_names_are_unique_and_valid() -> None:
    pairs = [(f"Server {i % 3}!", f"tool.{i % 5}") for i in range(40)]

    names = model_tool_names(pairs)

    assert len(set(names)) == len(pairs)
    assert all(VALID.match(name) for name in names)


def test_same_pairs_same_names() -> None:
    pairs = [("one", "x"), ("One", "x"), ("two", "y")]

    assert model_tool_names(pairs) == model_tool_names(list(pairs))
