"""The names the model sees MCP tools under: `{config-name-slug}__{tool}`, unique, ≤ 64 chars."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Final

MAX_LENGTH: Final = 64
SLUG_MAX_LENGTH: Final = 24
SEPARATOR: Final = "__"

_INVALID: Final = re.compile(r"[^A-Za-z0-9_-]+")
_DASHES: Final = re.compile(r"-{2,}")
_UNDERSCORES: Final = re.compile(r"_{2,}")


def slug(config_name: str) -> str:
    """A config name as lowercase `[a-z0-9_-]`, runs collapsed, at most 24 chars; `mcp` if empty."""
    ascii_name = unicodedata.normalize("NFKD", config_name).encode("ascii", "ignore").decode()
    text = _INVALID.sub("-", ascii_name.lower())
    text = _UNDERSCORES.sub("_", _DASHES.sub("-", text)).strip("-_")
    return text[:SLUG_MAX_LENGTH].rstrip("-_") or "mcp"


def model_tool_names(pairs: Sequence[tuple[str, str]]) -> list[str]:
    """For (config name, tool name) pairs, the names shown to the model, in the same order.

    A name taken by an earlier pair, or made equal by truncation, gets `_2`, `_3`, … (still at
    most 64 chars). Every distinct name keeps its natural form before any suffix is handed out,
    so the result depends only on the pairs and their order.
    """
    bases = [_base(config_name, tool) for config_name, tool in pairs]
    names: list[str | None] = [None] * len(bases)
    taken: set[str] = set()
    for i, base in enumerate(bases):
        if base not in taken:
            names[i] = base
            taken.add(base)
    for i, base in enumerate(bases):
        if names[i] is None:
            name = _with_suffix(base, taken)
            names[i] = name
            taken.add(name)
    return [name for name in names if name is not None]


def _base(config_name: str, tool: str) -> str:
    tool_part = _INVALID.sub("_", tool) or "tool"
    return f"{slug(config_name)}{SEPARATOR}{tool_part}"[:MAX_LENGTH]


def _with_suffix(base: str, taken: set[str]) -> str:
    n = 2
    while True:
        suffix = f"_{n}"
        name = base[: MAX_LENGTH - len(suffix)] + suffix
        if name not in taken:
            return name
        n += 1
