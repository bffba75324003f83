"""A person's answers to what a turn asked them: approvals, and MCP servers' questions.

An answer is stored where it arrives (the first stored wins, on any instance), then the turn
waiting on it is woken: here through Decisions, elsewhere by `elsewhere(request_id)` (the
instances' control channel) or, failing that, by its own poll of the request.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final
from uuid import UUID

from faceplate.db import STALE, Database
from faceplate.errors import FaceplateError, Invalid, Unavailable
from faceplate.mcp_client.forms import form_problem
from faceplate.queries import mcp_configs as configs_q
from faceplate.queries import tool_requests as q
from faceplate.structs import User
from faceplate.turns.decisions import Decisions
from faceplate.turns.frames import ApprovalFrame, ElicitationResponseFrame

_log = logging.getLogger(__name__)

_NO_APPROVAL: Final = "no approval is pending for this tool_call_id"
_NO_ELICITATION: Final = "no elicitation is pending under this elicitation_id"


class NotPending(FaceplateError):
    """Nothing is pending under that id: answered already, timed out, or never asked."""


class Answers:
    """Stores answers and wakes the turns waiting on them."""

    def __init__(
        self,
        db: Database,
        decisions: Decisions,
        *,
        elsewhere: Callable[[UUID, UUID], Awaitable[None]] | None = None,
    ) -> None:
        self._db = db
        self._decisions = decisions
        self.elsewhere = elsewhere

    async def approval(self, user: User, conversation_id: UUID, frame: ApprovalFrame) -> None:
        """Allow or deny a pending call; with `remember`, store the decision as the tool's policy
        and decide the tool's other pending calls by it. NotPending if nothing waits."""
        woken: list[UUID] = []
        async with self._db.connection() as conn, conn.transaction():
            decided = await q.decide_approval(
                conn,
                user_id=user.id,
                conversation_id=conversation_id,
                tool_call_id=frame.tool_call_id,
                decision=frame.decision,
                remember=frame.remember,
            )
            if decided is None:
                raise NotPending(_NO_APPROVAL)
            woken.append(decided.id)
            if frame.remember and decided.config_id is not None and decided.tool is not None:
                await configs_q.update_mcp_config_tool_policy(
                    conn,
                    user_id=user.id,
                    config_id=decided.config_id,
                    tool=decided.tool,
                    policy=frame.decision,
                )
                woken += await q.decide_by_policy(
                    conn,
                    user_id=user.id,
                    config_id=decided.config_id,
                    tool=decided.tool,
                    decision=frame.decision,
                )
        for request_id in woken:
            await self._wake(conversation_id, request_id)

    async def elicitation(
        self, user: User, conversation_id: UUID, frame: ElicitationResponseFrame
    ) -> None:
        """Answer a server's pending question; Invalid (naming the field) for content that does
        not fill in its form, which stays pending; NotPending if nothing waits."""
        try:
            request_id = UUID(frame.elicitation_id)
        except ValueError:
            raise NotPending(_NO_ELICITATION) from None
        content: dict[str, Any] | None = None
        async with self._db.connection() as conn:
            asked = await q.get_open_elicitation(
                conn, user_id=user.id, conversation_id=conversation_id, id=request_id
            )
            if asked is None:
                raise NotPending(_NO_ELICITATION)
            if frame.action == "accept":
                content = frame.content or {}
                problem = form_problem(asked.get("requested_schema") or {}, content)
                if problem is not None:
                    raise Invalid(problem)
            elif frame.content is not None:
                raise Invalid("content: only an accept carries content")
            changed = await q.decide_elicitation(
                conn,
                user_id=user.id,
                conversation_id=conversation_id,
                id=request_id,
                action=frame.action,
                content=content,
            )
        if not changed:
            raise NotPending(_NO_ELICITATION)
        await self._wake(conversation_id, request_id)

    async def _wake(self, conversation_id: UUID, request_id: UUID) -> None:
        if self._decisions.resolve(request_id):
            return
        if self.elsewhere is not None:
            # Stored already: unreached, the waiting turn finds the decision at its next poll.
            with contextlib.suppress(Unavailable, *STALE):
                await self.elsewhere(conversation_id, request_id)
        else:
            _log.debug("request %s waits on another instance: it polls", request_id)
