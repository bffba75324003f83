"""What one turn asks its user: approvals of tool calls, and MCP servers' questions.

Each request is stored (tool_requests) before its frame goes out, so an answer from any socket
on any instance finds it; the turn then waits, holding no pooled connection and no model
stream, until the decision is stored (Decisions wakes it), FACEPLATE_APPROVAL_TIMEOUT_S passes
(an approval is then denied, a question cancelled, `by: "timeout"`) or the turn stops (`by:
"cancel"`). The outcome frame is sent once per request, whoever decided.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Final, Literal
from uuid import UUID

import msgspec
from uuid6 import uuid7

from faceplate.db import STALE, Database
from faceplate.errors import Unavailable
from faceplate.mcp_client.asking import ElicitAnswer
from faceplate.mcp_client.policy import ApprovalNeeded
from faceplate.queries import tool_requests as q
from faceplate.structs import ToolCall
from faceplate.turns import frames as f
from faceplate.turns.channel import TurnChannel
from faceplate.turns.decisions import GONE, Decisions

_log = logging.getLogger(__name__)

_NO_TURN: Final = UUID(int=0)  # the channel gives each frame its turn id and seq


class Approval(msgspec.Struct, frozen=True, kw_only=True):
    decision: f.ApprovalDecision
    by: f.DecidedBy


class _Open(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["approval", "elicitation"]
    key: str  # the tool call's id, or the elicitation's


class Prompts:
    """The requests of one turn, each waited on by the tool call that made it."""

    def __init__(
        self,
        db: Database,
        decisions: Decisions,
        channel: TurnChannel,
        *,
        user_id: UUID,
        conversation_id: UUID,
        timeout_s: float,
    ) -> None:
        self._db = db
        self._decisions = decisions
        self._channel = channel
        self._user_id = user_id
        self._conversation_id = conversation_id
        self.timeout_s = timeout_s
        self._open: dict[UUID, _Open] = {}
        self._closed = False

    async def approve(self, call: ToolCall, needed: ApprovalNeeded) -> Approval:
        """Ask the user whether `call` may run; how it was decided."""
        if self._closed:
            return Approval(decision="deny", by="cancel")
        request_id = uuid7()
        frame = f.ApprovalRequestFrame(
            turn_id=_NO_TURN,
            seq=0,
            tool_call=call,
            config_id=needed.config_id,
            tool=needed.tool,
            annotations=needed.annotations,
        )
        await self._store(request_id, frame, call.id, needed.config_id, needed.tool)
        self._open[request_id] = _Open(kind="approval", key=call.id)
        self._channel.ask(frame)
        decision = await self._decided(request_id, "deny")
        approval = Approval(
            decision="allow" if decision.decision == "allow" else "deny",
            by=decision.decided_by or "cancel",
        )
        self._answered(request_id, approval.decision, approval.by)
        return approval

    async def elicit(
        self, call: ToolCall, config_id: UUID, message: str, requested_schema: dict[str, Any]
    ) -> ElicitAnswer:
        """Ask the user what the server of `config_id` asks, during `call`."""
        if self._closed:
            return ElicitAnswer(action="cancel")
        request_id = uuid7()
        frame = f.ElicitationRequestFrame(
            turn_id=_NO_TURN,
            seq=0,
            elicitation_id=request_id,
            config_id=config_id,
            message=message,
            requested_schema=requested_schema,
        )
        await self._store(request_id, frame, call.id, config_id, None)
        self._open[request_id] = _Open(kind="elicitation", key=str(request_id))
        self._channel.ask(frame)
        decision = await self._decided(request_id, "cancel")
        action: f.ElicitAction = "cancel"
        if decision.decision in ("accept", "decline"):
            action = "accept" if decision.decision == "accept" else "decline"
        self._answered(request_id, action, decision.decided_by or "cancel")
        content = decision.content if action == "accept" else None
        return ElicitAnswer(action=action, content=content)

    async def close(self) -> None:
        """The turn stops: every open request is cancelled (its outcome frame sent now, then
        stored), and none is made from here on."""
        self._closed = True
        doomed = list(self._open.items())
        for request_id, request in doomed:
            decision = "deny" if request.kind == "approval" else "cancel"
            self._answered(request_id, decision, "cancel")
        for request_id, request in doomed:
            decision = "deny" if request.kind == "approval" else "cancel"
            with contextlib.suppress(Unavailable, *STALE):
                async with self._db.connection() as conn:
                    await q.close_tool_request(
                        conn, id=request_id, decision=decision, decided_by="cancel"
                    )

    # --- internals --------------------------------------------------------------------------------

    async def _store(
        self,
        request_id: UUID,
        frame: f.PendingFrame,
        tool_call_id: str,
        config_id: UUID,
        tool: str | None,
    ) -> None:
        async with self._db.connection() as conn:
            await q.create_tool_request(
                conn,
                id=request_id,
                user_id=self._user_id,
                conversation_id=self._conversation_id,
                turn_id=self._channel.turn_id,
                kind="approval" if isinstance(frame, f.ApprovalRequestFrame) else "elicitation",
                tool_call_id=tool_call_id,
                config_id=config_id,
                tool=tool,
                frame=msgspec.structs.replace(frame, turn_id=self._channel.turn_id),
                timeout_s=self.timeout_s,
            )

    async def _decided(self, request_id: UUID, unanswered: str) -> q.Decision:
        """The stored decision; on timeout, `unanswered` by timeout unless one came meanwhile."""
        decision = await self._decisions.wait(request_id, self.timeout_s)
        if decision is GONE:
            return q.Decision(decision=unanswered, decided_by="cancel", content=None)
        if decision is not None:
            return decision
        timed_out = q.Decision(decision=unanswered, decided_by="timeout", content=None)
        try:
            async with self._db.connection() as conn:
                closed = await q.close_tool_request(
                    conn, id=request_id, decision=unanswered, decided_by="timeout"
                )
                if closed:
                    return timed_out
                stored = await q.get_tool_request_decision(conn, id=request_id)
        except (Unavailable, *STALE) as e:
            _log.warning("request %s timed out, and could not be stored so: %r", request_id, e)
            return timed_out
        if stored is None or stored.decision is None:
            return timed_out
        return stored  # an answer came as the time ran out: it counts

    def _answered(self, request_id: UUID, decision: str, by: f.DecidedBy) -> None:
        """Send the request's outcome, once."""
        request = self._open.pop(request_id, None)
        if request is None:
            return
        if request.kind == "approval":
            self._channel.answered(
                f.ApprovalResultFrame(
                    turn_id=_NO_TURN,
                    seq=0,
                    tool_call_id=request.key,
                    decision="allow" if decision == "allow" else "deny",
                    by=by,
                )
            )
        else:
            action: f.ElicitAction = "cancel"
            if decision in ("accept", "decline"):
                action = "accept" if decision == "accept" else "decline"
            self._channel.answered(
                f.ElicitationResultFrame(
                    turn_id=_NO_TURN, seq=0, elicitation_id=request_id, action=action
                )
            )


class CallAsker:
    """One tool call's way to its user, for a server that asks during the call."""

    def __init__(self, prompts: Prompts, call: ToolCall) -> None:
        self._prompts = prompts
        self._call = call

    async def elicit(
        self, config_id: UUID, message: str, requested_schema: dict[str, Any]
    ) -> ElicitAnswer:
        return await self._prompts.elicit(self._call, config_id, message, requested_schema)
