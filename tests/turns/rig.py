"""A turn registry on the test database, without sockets: a test ToolSource and outboxes."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import UUID

from uuid6 import uuid7

from faceplate.agents.base import ChatModel, ToolSpec
from faceplate.db import Database
from faceplate.mcp_client.catalog import ToolSource
from faceplate.mcp_client.policy import ApprovalNeeded
from faceplate.mcp_client.results import error_result
from faceplate.queries import messages as mq
from faceplate.queries.conversations import create_conversation
from faceplate.queries.users import upsert_user
from faceplate.structs import Message, TextBlock, ToolCall, ToolResult, User
from faceplate.turns.fanout import Outbox
from faceplate.turns.leases import TurnLeases, TurnLimits
from faceplate.turns.registry import TurnRegistry
from faceplate.turns.runner import TurnConfig
from tests.turns.helpers import Frame, parse

_SCHEMA: dict[str, Any] = {"type": "object"}


class Toolbox:
    """Tools for the tests, every call recorded.

    - `add` answers a + b;
    - `hold` answers once `release` is set (`held` is set while one waits);
    - `after_add` answers only once an `add` call has started: with calls run one after the
      other it would wait for ever.
    """

    def __init__(self) -> None:
        self.calls: list[ToolCall] = []
        self.held = asyncio.Event()
        self.release = asyncio.Event()
        self._add_started = asyncio.Event()

    async def specs(self) -> list[ToolSpec]:
        return [
            ToolSpec(name=name, description=f"the {name} tool", input_schema=_SCHEMA)
            for name in ("add", "hold", "after_add")
        ]

    def authorization_required(self) -> list[tuple[UUID, str]]:
        return []

    def refusal(self, name: str) -> str:
        return f"unknown tool {name}"

    def approval(self, name: str) -> ApprovalNeeded | None:
        return None

    async def call(self, call: ToolCall) -> ToolResult:
        self.calls.append(call)
        started = time.monotonic()
        match call.name:
            case "add":
                self._add_started.set()
                text = str(call.arguments["a"] + call.arguments["b"])
            case "hold":
                self.held.set()
                await self.release.wait()
                text = "released"
            case "after_add":
                await self._add_started.wait()
                text = "after add"
            case _:
                return error_result(
                    "no such tool", tool_call_id=call.id, name=call.name, duration_ms=0
                )
        return ToolResult(
            tool_call_id=call.id,
            name=call.name,
            is_error=False,
            content=[TextBlock(text=text)],
            duration_ms=int((time.monotonic() - started) * 1000),
        )


async def owner(db: Database, name: str = "ada") -> tuple[User, UUID]:
    """A user and one of their conversations."""
    async with db.connection() as conn:
        user = await upsert_user(
            conn, id=uuid7(), subject_id=f"sub-{name}", email=f"{name}@example.com"
        )
        conversation = await create_conversation(conn, id=uuid7(), user_id=user.id, title=None)
    return user, conversation.id


async def another_conversation(db: Database, user: User) -> UUID:
    async with db.connection() as conn:
        conversation = await create_conversation(conn, id=uuid7(), user_id=user.id, title=None)
    return conversation.id


async def expire_leases(db: Database) -> None:
    """Every running turn's lease runs out now, as if its instance had stopped renewing."""
    async with db.connection() as conn:
        await conn.execute(
            "UPDATE faceplate.turns SET lease_expires_at = now() - interval '1 second' "
            "WHERE status = 'running'"
        )


async def turn_rows(db: Database, conversation_id: UUID) -> list[tuple[str, str, int]]:
    """(status, instance_id, epoch) of the conversation's turns, oldest first."""
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT status, instance_id, epoch FROM faceplate.turns "
            "WHERE conversation_id = $1 ORDER BY started_at, id",
            conversation_id,
        )
    return [(r["status"], r["instance_id"], r["epoch"]) for r in rows]


def registry(
    db: Database,
    model: ChatModel,
    tools: ToolSource,
    *,
    max_tool_rounds: int = 8,
    tool_timeout_s: float = 10.0,
    write_interval_s: float = 1.0,
    instance_id: str | None = None,
    lease_s: float = 15.0,
    limits: TurnLimits | None = None,
) -> TurnRegistry:
    async def tools_for(user: User) -> ToolSource:
        return tools

    config = TurnConfig(
        system_prompt="You are a test.",
        max_tool_rounds=max_tool_rounds,
        tool_timeout_s=tool_timeout_s,
        write_interval_s=write_interval_s,
    )
    leases = TurnLeases(db, instance_id=instance_id, lease_s=lease_s, limits=limits)
    return TurnRegistry(db=db, model=model, tools=tools_for, config=config, leases=leases)


def outbox(max_frames: int = 100_000, max_chars: int = 100_000_000) -> Outbox:
    return Outbox(max_frames=max_frames, max_chars=max_chars)


async def next_frame(box: Outbox) -> Frame:
    """The next frame queued in `box`, waiting for it."""
    text = await asyncio.wait_for(box.next(), timeout=10)
    assert text is not None
    return parse(text)


async def until_type(box: Outbox, kind: str) -> list[Frame]:
    """Frames from `box` up to and including the first of type `kind`."""
    frames = [await next_frame(box)]
    while frames[-1]["type"] != kind:
        frames.append(await next_frame(box))
    return frames


async def history(db: Database, user: User, conversation_id: UUID) -> list[Message]:
    async with db.connection() as conn:
        return await mq.list_history(conn, user_id=user.id, conversation_id=conversation_id)
