"""The running turns of this process, by conversation."""

from __future__ import annotations

import asyncio
import contextlib
from uuid import UUID


class TurnRegistry:
    """At most one running turn task per conversation."""

    def __init__(self) -> None:
        self._tasks: dict[UUID, asyncio.Task[None]] = {}

    async def cancel_conversation(self, conversation_id: UUID) -> None:
        """Cancel the conversation's running turn, if any, and wait for it to end."""
        task = self._tasks.get(conversation_id)
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def aclose(self) -> None:
        """Cancel every running turn (process shutdown)."""
        for conversation_id in list(self._tasks):
            await self.cancel_conversation(conversation_id)
