"""Realistic data: one user, their conversations, and one long conversation with tool use."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from uuid import UUID

from uuid6 import uuid7

from faceplate.auth.dev import load_or_create_secret, mint_token
from faceplate.db import Conn, open_database
from faceplate.queries import conversations as cq
from faceplate.queries import messages as mq
from faceplate.queries import users as uq
from faceplate.structs import TextBlock, ToolCall, ToolResult

EMAIL: Final = "bench@example.com"
_TOPICS: Final = (
    "quarterly revenue",
    "the deploy checklist",
    "a flaky integration test",
    "the onboarding guide",
    "latency on the search page",
    "a customer refund",
    "database migrations",
    "the holiday rota",
)
_PROSE: Final = (
    "the report shows that revenue grew in every region except the north, where two large "
    "accounts churned; the pipeline for next quarter is healthy and the new pricing page "
    "converts better than the old one, although support tickets about invoices went up"
)
_WORDS: Final = tuple(_PROSE.split(" "))


@dataclass(frozen=True)
class Seeded:
    user_id: UUID
    token: str
    conversation_id: UUID  # the one with the long history
    conversation_ids: tuple[UUID, ...]
    messages: int


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."


def _tool_calls(rng: random.Random, step: int) -> list[ToolCall]:
    return [
        ToolCall(
            id=f"call_{step}_{n}",
            name=rng.choice(("files__read", "search__query", "sheets__get_range")),
            arguments={
                "path": f"/srv/reports/2024/q{1 + n % 4}/summary-{step}.csv",
                "query": _text(rng, 8),
                "limit": 20,
                "include_headers": True,
            },
        )
        for n in range(1 + step % 2)
    ]


def _tool_results(rng: random.Random, calls: list[ToolCall]) -> list[ToolResult]:
    return [
        ToolResult(
            tool_call_id=call.id,
            name=call.name,
            is_error=False,
            content=[TextBlock(text=_text(rng, 40)), TextBlock(text=_text(rng, 20))],
            duration_ms=rng.randint(20, 900),
        )
        for call in calls
    ]


async def _history(conn: Conn, user_id: UUID, conversation_id: UUID, count: int) -> None:
    """`count` messages: user question, assistant tool calls, tool results, assistant answer."""
    rng = random.Random(7)
    pending: list[ToolCall] = []
    for i in range(count):
        fields: dict[str, Any]
        match i % 4:
            case 0:
                fields = {"role": "user", "content": _text(rng, 25)}
            case 1 if i < count - 1:
                pending = _tool_calls(rng, i)
                fields = {
                    "role": "assistant",
                    "content": _text(rng, 12),
                    "tool_calls": pending,
                    "finish_reason": "tool_calls",
                }
            case 2 if pending:
                fields = {
                    "role": "tool",
                    "content": "",
                    "tool_results": _tool_results(rng, pending),
                }
                pending = []
            case _:
                fields = {"role": "assistant", "content": _text(rng, 90), "finish_reason": "stop"}
        await mq.create_message(
            conn, user_id=user_id, conversation_id=conversation_id, id=uuid7(), **fields
        )


async def create_conversations(url: str, user_id: UUID, count: int) -> list[UUID]:
    """`count` new empty conversations of the user."""
    db = await open_database(url, min_size=1, max_size=1)
    try:
        async with db.connection() as conn:
            return [
                (await cq.create_conversation(conn, id=uuid7(), user_id=user_id, title=None)).id
                for _ in range(count)
            ]
    finally:
        await db.close()


async def seed(url: str, data_dir: Path, *, conversations: int, messages: int) -> Seeded:
    """One user with `conversations` conversations; the newest holds `messages` messages."""
    db = await open_database(url, min_size=1, max_size=1)
    rng = random.Random(1)
    try:
        async with db.connection() as conn:
            user = await uq.upsert_user(conn, id=uuid7(), subject_id=f"dev|{EMAIL}", email=EMAIL)
            ids = []
            for n in range(conversations):
                title = f"About {rng.choice(_TOPICS)} ({n + 1})"
                conv = await cq.create_conversation(conn, id=uuid7(), user_id=user.id, title=title)
                ids.append(conv.id)
            await _history(conn, user.id, ids[-1], messages)
    finally:
        await db.close()
    token = mint_token(load_or_create_secret(data_dir), email=EMAIL)
    return Seeded(
        user_id=user.id,
        token=token,
        conversation_id=ids[-1],
        conversation_ids=tuple(ids),
        messages=messages,
    )
