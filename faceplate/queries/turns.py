"""Queries of sql/turns/: turn claims and leases, takeovers, and watching instances."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from uuid import UUID

import msgspec

from faceplate.db import Conn, rowcount
from faceplate.sql import QUERIES
from faceplate.structs import (
    RunningTurn,
    TakenTurn,
    TurnCounts,
    TurnFence,
    TurnRowStatus,
    UnansweredCalls,
)

_COUNT: Final = QUERIES["count_user_turns"].text
_CREATE: Final = QUERIES["create_turn"].text
_RENEW: Final = QUERIES["renew_turn_leases"].text
_FINISH: Final = QUERIES["finish_turn"].text
_TAKE_OVER: Final = QUERIES["take_over_turns"].text
_INTERRUPT: Final = QUERIES["interrupt_streaming_messages"].text
_UNANSWERED: Final = QUERIES["get_unanswered_tool_calls"].text
_DELETE_ENDED: Final = QUERIES["delete_ended_turns"].text
_RUNNING: Final = QUERIES["get_running_turn"].text
_WATCH: Final = QUERIES["upsert_turn_watcher"].text
_RENEW_WATCHES: Final = QUERIES["renew_turn_watchers"].text
_WATCHERS: Final = QUERIES["list_turn_watchers"].text
_DELETE_WATCHES: Final = QUERIES["delete_expired_watchers"].text


async def count_user_turns(conn: Conn, *, user_id: UUID, conversation_id: UUID) -> TurnCounts:
    """sql/turns/count_user_turns.sql"""
    row = await conn.fetchrow(_COUNT, user_id, conversation_id)
    assert row is not None
    return msgspec.convert(dict(row), TurnCounts)


async def create_turn(
    conn: Conn, *, id: UUID, user_id: UUID, conversation_id: UUID, instance_id: str, lease_s: float
) -> TurnFence | None:
    """sql/turns/create_turn.sql; None when not the user's conversation or a turn runs in it."""
    row = await conn.fetchrow(_CREATE, id, user_id, conversation_id, instance_id, lease_s)
    return None if row is None else msgspec.convert(dict(row), TurnFence)


async def renew_turn_leases(
    conn: Conn, *, instance_id: str, lease_s: float, turn_ids: Sequence[UUID]
) -> list[TurnFence]:
    """sql/turns/renew_turn_leases.sql"""
    rows = await conn.fetch(_RENEW, instance_id, lease_s, list(turn_ids))
    return [msgspec.convert(dict(r), TurnFence) for r in rows]


async def finish_turn(conn: Conn, *, id: UUID, epoch: int, status: TurnRowStatus) -> bool:
    """sql/turns/finish_turn.sql; False when the turn was taken over or is gone."""
    return rowcount(await conn.execute(_FINISH, id, epoch, status)) == 1


async def take_over_turns(
    conn: Conn, *, instance_id: str, lease_s: float, limit: int
) -> list[TakenTurn]:
    """sql/turns/take_over_turns.sql"""
    rows = await conn.fetch(_TAKE_OVER, instance_id, lease_s, limit)
    return [msgspec.convert(dict(r), TakenTurn) for r in rows]


async def interrupt_streaming_messages(
    conn: Conn, *, conversation_id: UUID, turn_id: UUID, epoch: int
) -> int:
    """sql/turns/interrupt_streaming_messages.sql"""
    return rowcount(await conn.execute(_INTERRUPT, conversation_id, turn_id, epoch))


async def get_unanswered_tool_calls(conn: Conn, *, conversation_id: UUID) -> UnansweredCalls | None:
    """sql/turns/get_unanswered_tool_calls.sql"""
    row = await conn.fetchrow(_UNANSWERED, conversation_id)
    return None if row is None else msgspec.convert(dict(row), UnansweredCalls)


async def delete_ended_turns(conn: Conn, *, limit: int) -> int:
    """sql/turns/delete_ended_turns.sql"""
    return rowcount(await conn.execute(_DELETE_ENDED, limit))


async def get_running_turn(conn: Conn, *, conversation_id: UUID) -> RunningTurn | None:
    """sql/turns/get_running_turn.sql"""
    row = await conn.fetchrow(_RUNNING, conversation_id)
    return None if row is None else msgspec.convert(dict(row), RunningTurn)


async def upsert_turn_watcher(
    conn: Conn, *, conversation_id: UUID, instance_id: str, lease_s: float
) -> None:
    """sql/turns/upsert_turn_watcher.sql"""
    await conn.execute(_WATCH, conversation_id, instance_id, lease_s)


async def renew_turn_watchers(
    conn: Conn, *, instance_id: str, conversation_ids: Sequence[UUID], lease_s: float
) -> int:
    """sql/turns/renew_turn_watchers.sql"""
    return rowcount(
        await conn.execute(_RENEW_WATCHES, instance_id, list(conversation_ids), lease_s)
    )


async def list_turn_watchers(conn: Conn, *, conversation_id: UUID, instance_id: str) -> list[str]:
    """sql/turns/list_turn_watchers.sql"""
    rows = await conn.fetch(_WATCHERS, conversation_id, instance_id)
    return [str(r["instance_id"]) for r in rows]


async def delete_expired_watchers(conn: Conn) -> int:
    """sql/turns/delete_expired_watchers.sql"""
    return rowcount(await conn.execute(_DELETE_WATCHES))
