"""Stores an assistant message while it streams, a bounded number of writes whatever its length."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from uuid import UUID

import asyncpg
import msgspec

from faceplate.agents.base import Usage
from faceplate.db import STALE, Conn, Database
from faceplate.errors import Unavailable
from faceplate.queries import messages as q
from faceplate.queries import usage as uq
from faceplate.structs import FinishReason, Message, TokenUsage, ToolCall, TurnFence

_log = logging.getLogger(__name__)


class StreamWriter:
    """One assistant message of the turn `fence` names (every write checks it still holds the
    conversation): created at its first text, its content written at most once per
    `interval_s` while it streams, then finished with its finish_reason.

    The writes run in a task of their own, so the model's stream is never held up by the
    database, and each takes a pooled connection only for the statement. A step that ends before
    the first write is stored with a single INSERT.
    """

    def __init__(
        self,
        db: Database,
        *,
        user_id: UUID,
        conversation_id: UUID,
        message_id: UUID,
        interval_s: float = 1.0,
        fence: TurnFence,
        model: str | None = None,
        parent: UUID | msgspec.UnsetType | None = msgspec.UNSET,
    ) -> None:
        """`model` is recorded on the message; `parent` is where it hangs when it starts a
        branch (UNSET: under the conversation's active leaf, as every later step)."""
        self._db = db
        self._fence = fence
        self._model = model
        self._parent = parent
        self._user_id = user_id
        self._conversation_id = conversation_id
        self.message_id = message_id
        self._interval = interval_s
        self._parts: list[str] = []
        self._dirty = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.created = False
        self.gone = False  # the conversation was deleted under the turn

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def append(self, text: str) -> None:
        """Add streamed text; the row is created, or its content written, in the background."""
        if not text:
            return
        self._parts.append(text)
        self._dirty.set()
        if self._task is None and not self._closing.is_set():
            self._task = asyncio.create_task(self._run(), name=f"writer {self.message_id}")

    async def finish(
        self,
        reason: FinishReason,
        tool_calls: Sequence[ToolCall] | None = None,
        usage: Usage | None = None,
    ) -> Message | None:
        """Store the final text, tool calls, reason and usage, and add the usage to the user's
        tokens of the day (one transaction); None if the conversation is gone."""
        self._closing.set()
        self._dirty.set()
        if self._task is not None:
            await self._task
        if self.gone:
            return None
        tokens = _tokens(usage)
        async with self._db.connection() as conn, conn.transaction():
            if self.created:
                stored = await q.finish_message(
                    conn,
                    user_id=self._user_id,
                    message_id=self.message_id,
                    content=self.text,
                    tool_calls=tool_calls or None,
                    finish_reason=reason,
                    turn_id=self._fence.id,
                    epoch=self._fence.epoch,
                    usage=tokens,
                )
            else:
                stored = await self._create(conn, tool_calls or None, reason, tokens)
            if stored is not None and tokens is not None:
                await uq.add_token_usage(
                    conn,
                    user_id=self._user_id,
                    model=stored.model or "unknown",
                    input_tokens=tokens.input_tokens,
                    output_tokens=tokens.output_tokens,
                )
        self.gone = stored is None
        return stored

    async def abandon(self) -> None:
        """Stop writing without finishing (the process is going away)."""
        self._closing.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self.gone:
            await self._dirty.wait()
            if self._closing.is_set():
                return
            self._dirty.clear()
            await self._write()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._closing.wait()
            if self._closing.is_set():
                return

    async def _create(
        self,
        conn: Conn,
        tool_calls: Sequence[ToolCall] | None = None,
        finish_reason: FinishReason | None = None,
        usage: TokenUsage | None = None,
    ) -> Message | None:
        """Insert the message with its text so far: still streaming unless a reason is given."""
        new_branch = not isinstance(self._parent, msgspec.UnsetType)
        return await q.create_message(
            conn,
            user_id=self._user_id,
            conversation_id=self._conversation_id,
            id=self.message_id,
            role="assistant",
            content=self.text,
            tool_calls=tool_calls,
            finish_reason=finish_reason,
            turn_id=self._fence.id,
            epoch=self._fence.epoch,
            new_branch=new_branch,
            parent_id=None if isinstance(self._parent, msgspec.UnsetType) else self._parent,
            model=self._model,
            usage=usage,
        )

    async def _write(self) -> None:
        try:
            async with self._db.connection() as conn:
                if self.created:
                    await q.update_message_content(
                        conn,
                        user_id=self._user_id,
                        message_id=self.message_id,
                        content=self.text,
                        turn_id=self._fence.id,
                        epoch=self._fence.epoch,
                    )
                    return
                stored = await self._create(conn)
        except (Unavailable, asyncpg.PostgresError, *STALE) as e:
            # The text is still in memory: the next write, or finish(), stores it.
            _log.warning("could not store streaming message %s: %r", self.message_id, e)
            return
        self.created = stored is not None
        self.gone = stored is None


def _tokens(usage: Usage | None) -> TokenUsage | None:
    """The usage as stored: null when the provider reported neither count."""
    if usage is None or (usage.input_tokens is None and usage.output_tokens is None):
        return None
    return TokenUsage(input_tokens=usage.input_tokens or 0, output_tokens=usage.output_tokens or 0)
