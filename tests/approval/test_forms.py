"""Answers checked against MCP's restricted form schemas, and a call's deadlines paused while
its user is asked."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest

from faceplate.mcp_client.asking import CallContext, ElicitAnswer
from faceplate.mcp_client.forms import form_problem

FORM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 2, "maxLength": 5},
        "email": {"type": "string", "format": "email"},
        "site": {"type": "string", "format": "uri"},
        "born": {"type": "string", "format": "date"},
        "at": {"type": "string", "format": "date-time"},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "score": {"type": "number", "minimum": 0.5, "maximum": 1.5},
        "ok": {"type": "boolean"},
        "size": {"type": "string", "enum": ["s", "m"]},
        "tier": {"type": "string", "oneOf": [{"const": "gold", "title": "Gold"}]},
        "tags": {
            "type": "array",
            "items": {"type": "string", "enum": ["a", "b", "c"]},
            "minItems": 1,
            "maxItems": 2,
        },
        "picks": {"type": "array", "items": {"anyOf": [{"const": "x", "title": "X"}]}},
        "odd": {"type": "object"},
    },
    "required": ["name"],
}

GOOD: dict[str, Any] = {
    "name": "Ann",
    "email": "ann@example.com",
    "site": "https://example.com",
    "born": "1990-02-03",
    "at": "2026-12-02T03:00:00+00:00",
    "age": 36,
    "score": 1,
    "ok": False,
    "size": "m",
    "tier": "gold",
    "tags": ["a", "c"],
    "picks": ["x"],
}


def test_a_full_answer_fills_in_the_form() -> None:
    assert form_problem(FORM, GOOD) is None
    assert form_problem(FORM, {"name": "Al"}) is None
    assert form_problem(FORM, {"name": "Al", "age": 3.0}) is None


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"name": None}, "content.name: required"),
        ({"name": 1}, "content.name: must be a string"),
        ({"name": "A"}, "at least 2 characters"),
        ({"name": "Annabel"}, "at most 5 characters"),
        ({"email": "nope"}, "content.email: must be a email"),
        ({"site": "nope"}, "content.site: must be a uri"),
        ({"born": "yesterday"}, "content.born: must be a date"),
        ({"at": "noon"}, "content.at: must be a date-time"),
        ({"age": "3"}, "content.age: must be a number"),
        ({"age": True}, "content.age: must be a number"),
        ({"age": 2.5}, "content.age: must be an integer"),
        ({"age": -1}, "content.age: must be at least 0"),
        ({"score": 2}, "content.score: must be at most 1.5"),
        ({"ok": "yes"}, "content.ok: must be true or false"),
        ({"size": "xl"}, "content.size: must be one of 's', 'm'"),
        ({"tier": "tin"}, "content.tier: must be one of 'gold'"),
        ({"tags": "a"}, "content.tags: must be a list of strings"),
        ({"tags": ["d"]}, "content.tags: 'd' is not one of"),
        ({"tags": []}, "at least 1 items"),
        ({"tags": ["a", "b", "c"]}, "at most 2 items"),
        ({"picks": ["y"]}, "content.picks: 'y' is not one of 'x'"),
        ({"odd": {}}, "content.odd: the form's field has a type"),
        ({"extra": 1}, "content.extra: the form has no such field"),
    ],
)
def test_a_wrong_answer_names_its_field(change: dict[str, Any], says: str) -> None:
    content = {**GOOD, **change}
    content = {k: v for k, v in content.items() if v is not None}
    problem = form_problem(FORM, content)
    assert problem is not None and says in problem


class _Asker:
    async def elicit(self, config_id: UUID, message: str, schema: dict[str, Any]) -> ElicitAnswer:
        return ElicitAnswer(action="cancel")


async def test_a_deadline_stands_still_while_the_person_is_asked() -> None:
    call = CallContext(_Asker())
    async with asyncio.timeout(0.3) as deadline:
        with call.deadline(deadline):
            with call.paused():
                assert deadline.when() is None
                with call.paused():  # nested: still paused
                    await asyncio.sleep(0.4)  # longer than the deadline: it does not fire
                assert deadline.when() is None
            assert deadline.when() is not None
            await asyncio.sleep(0)
    assert not deadline.expired()
    assert call.waited_s >= 0.4


async def test_a_deadline_registered_while_paused_is_held_too() -> None:
    call = CallContext(_Asker())
    with call.paused():
        async with asyncio.timeout(0.2) as deadline:
            with call.deadline(deadline):
                assert deadline.when() is None
                await asyncio.sleep(0.3)
    assert not deadline.expired()
