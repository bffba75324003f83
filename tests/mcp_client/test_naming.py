from __future__ import annotations

import re

import pytest

from faceplate.mcp_client.naming import (
    MAX_LENGTH,
    config_slugs,
    model_name,
    slug,
    slug_of,
    tool_model_names,
)

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
    assert model_name("github", "create_issue") == "github__create_issue"
    assert model_name("my-files", "read-file") == "my-files__read-file"


def test_tool_names_keep_case_and_lose_invalid_characters() -> None:
    assert model_name("fs", "Read File/v2.1") == "fs__Read_File_v2_1"


def test_names_are_at_most_64_characters() -> None:
    name = model_name(slug("a" * 100), "t" * 100)

    assert len(name) == MAX_LENGTH
    assert name.startswith("a" * 24 + "__ttt")


def test_a_clash_of_slugs_suffixes_the_later_slug_not_the_tool() -> None:
    slugs = config_slugs(["GitHub", "github!", "GITHUB"])

    assert slugs == ["github", "github_2", "github_3"]
    assert [model_name(s, "search") for s in slugs] == [
        "github__search",
        "github_2__search",
        "github_3__search",
    ]


def test_natural_slugs_win_over_suffixes() -> None:
    assert config_slugs(["a", "A", "a_2"]) == ["a", "a_3", "a_2"]


def test_same_names_same_slugs() -> None:
    names = ["one", "One", "two"]

    assert config_slugs(names) == config_slugs(list(names))


def test_slugs_are_unique_and_names_valid() -> None:
    slugs = config_slugs([f"Server {i % 3}!" for i in range(40)])

    assert len(set(slugs)) == 40
    names = [model_name(s, f"tool.{i % 5}") for i, s in enumerate(slugs)]
    assert len(set(names)) == 40
    assert all(VALID.match(name) for name in names)


def test_tools_of_one_server_that_come_out_alike_keep_only_the_first() -> None:
    assert tool_model_names("fs", ["read.file", "read_file", "write"]) == [
        "fs__read_file",
        None,
        "fs__write",
    ]


def test_a_model_name_s_slug_ends_at_its_first_double_underscore() -> None:
    assert slug_of("my-tools_2__do__it") == "my-tools_2"
    assert slug_of("nothing") is None
