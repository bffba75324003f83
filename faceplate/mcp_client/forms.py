"""Checking a person's answer against the form an MCP server asked them to fill in.

MCP restricts an elicitation's `requestedSchema` to a flat object whose properties are strings
(with `minLength`, `maxLength`, `format`, or choices: `enum` or `oneOf` of `const`s), numbers
or integers (`minimum`, `maximum`), booleans, and arrays of choices (`items` with `enum` or
`anyOf`, `minItems`, `maxItems`); `required` lists the names that must be answered. An answer
is checked against exactly that, so what reaches the server is what it asked for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final
from urllib.parse import urlsplit

_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def form_problem(schema: Mapping[str, Any], content: Mapping[str, Any]) -> str | None:
    """Why `content` does not fill in the form `schema`, naming the field; None if it does."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    for name in content:
        if name not in properties:
            return f"content.{name}: the form has no such field"
    for name in schema.get("required") or ():
        if name not in content:
            return f"content.{name}: required"
    for name, value in content.items():
        problem = _value_problem(properties[name], value)
        if problem is not None:
            return f"content.{name}: {problem}"
    return None


def _value_problem(field: Mapping[str, Any], value: Any) -> str | None:
    kind = field.get("type")
    if kind == "boolean":
        return None if isinstance(value, bool) else "must be true or false"
    if kind in ("number", "integer"):
        return _number_problem(field, value, integer=kind == "integer")
    if kind == "string":
        return _string_problem(field, value)
    if kind == "array":
        return _choices_problem(field, value)
    return f"the form's field has a type Faceplate does not know ({kind!r})"


def _number_problem(field: Mapping[str, Any], value: Any, *, integer: bool) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number"
    if integer and not (isinstance(value, int) or value.is_integer()):
        return "must be an integer"
    low, high = field.get("minimum"), field.get("maximum")
    if isinstance(low, int | float) and value < low:
        return f"must be at least {low}"
    if isinstance(high, int | float) and value > high:
        return f"must be at most {high}"
    return None


def _string_problem(field: Mapping[str, Any], value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    choices = _choices(field)
    if choices is not None:
        return None if value in choices else f"must be one of {', '.join(map(repr, choices))}"
    low, high = field.get("minLength"), field.get("maxLength")
    if isinstance(low, int) and len(value) < low:
        return f"must be at least {low} characters"
    if isinstance(high, int) and len(value) > high:
        return f"must be at most {high} characters"
    fmt = field.get("format")
    if fmt is not None and not _formatted(fmt, value):
        return f"must be a {fmt}"
    return None


def _choices_problem(field: Mapping[str, Any], value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return "must be a list of strings"
    choices = _choices(field.get("items") or {})
    if choices is not None:
        wrong = [item for item in value if item not in choices]
        if wrong:
            return f"{wrong[0]!r} is not one of {', '.join(map(repr, choices))}"
    low, high = field.get("minItems"), field.get("maxItems")
    if isinstance(low, int) and len(value) < low:
        return f"must have at least {low} items"
    if isinstance(high, int) and len(value) > high:
        return f"must have at most {high} items"
    return None


def _choices(field: Mapping[str, Any]) -> list[str] | None:
    """The allowed values of a choice field, or None when it is not one."""
    if isinstance(field.get("enum"), list):
        return [str(choice) for choice in field["enum"]]
    for key in ("oneOf", "anyOf"):
        options = field.get(key)
        if isinstance(options, list):
            return [str(o.get("const")) for o in options if isinstance(o, dict)]
    return None


def _formatted(fmt: str, value: str) -> bool:
    if fmt == "email":
        return _EMAIL.match(value) is not None
    if fmt == "uri":
        parts = urlsplit(value)
        return bool(parts.scheme and (parts.netloc or parts.path))
    try:
        if fmt == "date":
            date.fromisoformat(value)
        elif fmt == "date-time":
            datetime.fromisoformat(value)
    except ValueError:
        return False
    return True  # a format MCP does not name is not checked
