"""Turns whose owner died: taken over by a surviving instance and ended `interrupted`.

What the dead owner streamed is kept, marked interrupted; a tool call it left without a stored
result gets an error result saying its outcome is unknown, and is never run again.
"""

from __future__ import annotations

import logging
from typing import Final
from uuid import UUID

from uuid6 import uuid7

from faceplate.db import Database
from faceplate.mcp_client.results import error_result
from faceplate.queries import messages as mq
from faceplate.queries import turns as q
from faceplate.structs import TakenTurn, TurnFence

_log = logging.getLogger(__name__)

UNKNOWN_OUTCOME: Final = "interrupted: the outcome is unknown"
_BATCH: Final = 50


async def end_interrupted(
    db: Database, *, conversation_id: UUID, user_id: UUID, fence: TurnFence
) -> bool:
    """Store the turn's streaming text interrupted, answer its unanswered calls, end it
    `interrupted`, in one transaction fenced by `fence`; False when the fence no longer holds."""
    async with db.connection() as conn, conn.transaction():
        await q.interrupt_streaming_messages(
            conn, conversation_id=conversation_id, turn_id=fence.id, epoch=fence.epoch
        )
        unanswered = await q.get_unanswered_tool_calls(conn, conversation_id=conversation_id)
        if unanswered is not None:
            results = [
                error_result(UNKNOWN_OUTCOME, tool_call_id=c.id, name=c.name, duration_ms=0)
                for c in unanswered.tool_calls
            ]
            await mq.create_message(
                conn,
                user_id=user_id,
                conversation_id=conversation_id,
                id=uuid7(),
                role="tool",
                content="",
                tool_results=results,
                turn_id=fence.id,
                epoch=fence.epoch,
            )
        return await q.finish_turn(conn, id=fence.id, epoch=fence.epoch, status="interrupted")


async def take_over_dead_turns(
    db: Database, *, instance_id: str, lease_s: float
) -> list[TakenTurn]:
    """Every running turn whose lease ran out, taken over and ended; the ones this call ended."""
    ended: list[TakenTurn] = []
    while True:
        async with db.connection() as conn:
            taken = await q.take_over_turns(
                conn, instance_id=instance_id, lease_s=lease_s, limit=_BATCH
            )
        for turn in taken:
            _log.warning(
                "instance %s took over turn %s of conversation %s from %s (its lease ran out)",
                instance_id,
                turn.id,
                turn.conversation_id,
                turn.previous_instance_id,
            )
            if await end_interrupted(
                db, conversation_id=turn.conversation_id, user_id=turn.user_id, fence=turn.fence
            ):
                ended.append(turn)
        if len(taken) < _BATCH:
            return ended
