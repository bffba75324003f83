"""Queries of sql/tool_requests/: what turns ask the user, and how each was decided."""

from __future__ import annotations

from typing import Any, Final, Literal
from uuid import UUID

import msgspec

from faceplate.db import Conn, rowcount, without_nul
from faceplate.sql import QUERIES

RequestKind = Literal["approval", "elicitation"]
DecidedBy = Literal["user", "policy", "timeout", "cancel"]

_CREATE: Final = QUERIES["create_tool_request"].text
_GET_DECISION: Final = QUERIES["get_tool_request_decision"].text
_DECIDE_APPROVAL: Final = QUERIES["decide_approval"].text
_DECIDE_BY_POLICY: Final = QUERIES["decide_by_policy"].text
_GET_OPEN_ELICITATION: Final = QUERIES["get_open_elicitation"].text
_DECIDE_ELICITATION: Final = QUERIES["decide_elicitation"].text
_CLOSE: Final = QUERIES["close_tool_request"].text


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """How a request stands: undecided while `decision` is None."""

    decision: str | None
    decided_by: DecidedBy | None
    content: dict[str, Any] | None


class DecidedApproval(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    config_id: UUID | None
    tool: str | None


async def create_tool_request(
    conn: Conn,
    *,
    id: UUID,
    user_id: UUID,
    conversation_id: UUID,
    turn_id: UUID,
    kind: RequestKind,
    tool_call_id: str,
    config_id: UUID | None,
    tool: str | None,
    frame: Any,
    timeout_s: float,
) -> None:
    """sql/tool_requests/create_tool_request.sql"""
    await conn.execute(
        _CREATE,
        id,
        user_id,
        conversation_id,
        turn_id,
        kind,
        without_nul(tool_call_id),
        config_id,
        None if tool is None else without_nul(tool),
        frame,
        timeout_s,
    )


async def get_tool_request_decision(conn: Conn, *, id: UUID) -> Decision | None:
    """sql/tool_requests/get_tool_request_decision.sql"""
    row = await conn.fetchrow(_GET_DECISION, id)
    return None if row is None else msgspec.convert(dict(row), Decision)


async def decide_approval(
    conn: Conn,
    *,
    user_id: UUID,
    conversation_id: UUID,
    tool_call_id: str,
    decision: Literal["allow", "deny"],
    remember: bool,
) -> DecidedApproval | None:
    """sql/tool_requests/decide_approval.sql"""
    row = await conn.fetchrow(
        _DECIDE_APPROVAL,
        user_id,
        conversation_id,
        without_nul(tool_call_id),
        decision,
        remember,
    )
    return None if row is None else msgspec.convert(dict(row), DecidedApproval)


async def decide_by_policy(
    conn: Conn, *, user_id: UUID, config_id: UUID, tool: str, decision: Literal["allow", "deny"]
) -> list[UUID]:
    """sql/tool_requests/decide_by_policy.sql"""
    rows = await conn.fetch(_DECIDE_BY_POLICY, user_id, config_id, without_nul(tool), decision)
    return [row["id"] for row in rows]


async def get_open_elicitation(
    conn: Conn, *, user_id: UUID, conversation_id: UUID, id: UUID
) -> dict[str, Any] | None:
    """sql/tool_requests/get_open_elicitation.sql: the request's frame."""
    frame: dict[str, Any] | None = await conn.fetchval(
        _GET_OPEN_ELICITATION, user_id, conversation_id, id
    )
    return frame


async def decide_elicitation(
    conn: Conn,
    *,
    user_id: UUID,
    conversation_id: UUID,
    id: UUID,
    action: Literal["accept", "decline", "cancel"],
    content: dict[str, Any] | None,
) -> int:
    """sql/tool_requests/decide_elicitation.sql"""
    return rowcount(
        await conn.execute(_DECIDE_ELICITATION, user_id, conversation_id, id, action, content)
    )


async def close_tool_request(
    conn: Conn, *, id: UUID, decision: str, decided_by: Literal["timeout", "cancel"]
) -> int:
    """sql/tool_requests/close_tool_request.sql"""
    return rowcount(await conn.execute(_CLOSE, id, decision, decided_by))
