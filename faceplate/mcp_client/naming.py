"""The names the model sees MCP tools under: `{config-name-slug}__{tool}`, unique, ≤ 64 chars.

Uniqueness comes from the slugs: each of a user's enabled configs gets its own (a slug an
earlier config has gets `_2`, `_3`, …), so the tool part is the server's own name. It is only
ever changed where it cannot be used as it is: a character outside `[A-Za-z0-9_-]` becomes `_`,
and a name past 64 characters is cut. Since a slug never holds `__`, the first `__` of a model
name ends its slug.
"""

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


def config_slugs(config_names: Sequence[str]) -> list[str]:
    """The slug of each config, in the order given (the user's configs, oldest first).

    A slug that an earlier config has gets `_2`, `_3`, … (the first free one). Every distinct
    slug keeps its natural form before any suffix is handed out, so the result depends only on
    the names and their order.
    """
    natural = [slug(name) for name in config_names]
    slugs: list[str | None] = [None] * len(natural)
    taken: set[str] = set()
    for i, base in enumerate(natural):
        if base not in taken:
            slugs[i] = base
            taken.add(base)
    for i, base in enumerate(natural):
        if slugs[i] is None:
            n = 2
            while f"{base}_{n}" in taken:
                n += 1
            slugs[i] = f"{base}_{n}"
            taken.add(f"{base}_{n}")
    return [s for s in slugs if s is not None]


def tool_model_names(config_slug: str, tool_names: Sequence[str]) -> list[str | None]:
    """For one config's tools, in order, the names the model calls them by; None for a tool
    whose name, made valid and cut to 64 characters, an earlier tool of the config already has
    (it cannot be offered)."""
    names: list[str | None] = []
    seen: set[str] = set()
    for tool in tool_names:
        name = model_name(config_slug, tool)
        names.append(None if name in seen else name)
        seen.add(name)
    return names


def model_name(config_slug: str, tool_name: str) -> str:
    """`{slug}__{tool}`: the tool's characters outside `[A-Za-z0-9_-]` as `_`, cut at 64."""
    tool_part = _INVALID.sub("_", tool_name) or "tool"
    return f"{config_slug}{SEPARATOR}{tool_part}"[:MAX_LENGTH]


def slug_of(model_tool_name: str) -> str | None:
    """The slug part of a model name, if it has one."""
    head, separator, _ = model_tool_name.partition(SEPARATOR)
    return head if separator else None
