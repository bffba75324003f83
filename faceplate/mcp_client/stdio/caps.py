"""Room for one more stdio process: per user and in total, closing idle ones first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from uuid import UUID

from faceplate.mcp_client.errors import ToolUnavailable

C = TypeVar("C")


@dataclass(frozen=True)
class Live(Generic[C]):
    """A stdio connection whose process may still run."""

    connection: C
    user_id: UUID | None
    idle: bool  # no call in flight: closing it costs its owner a restart, nothing else
    closing: bool  # on its way out already
    last_used: float


@dataclass
class Room(Generic[C]):
    """What to close, and what to wait for, before there is room."""

    close: list[C] = field(default_factory=list)
    wait: list[C] = field(default_factory=list)


def make_room(
    user_id: UUID, live: Sequence[Live[C]], *, per_user: int, total: int
) -> Room[C] | None:
    """None when one more process fits; else the idle connections to close first (the user's
    own, least recently used first, then, for the total, anyone's) and those to wait for.

    Raises ToolUnavailable when closing every idle one would still not make room.
    """
    mine = [p for p in live if p.user_id == user_id]
    need_mine = len(mine) - per_user + 1
    need_all = len(live) - total + 1
    if need_mine <= 0 and need_all <= 0:
        return None
    closing = [p for p in live if p.closing]

    def idle(of: Sequence[Live[C]], but: Sequence[Live[C]] = ()) -> list[Live[C]]:
        chosen = [p for p in of if p.idle and not p.closing and p not in but]
        return sorted(chosen, key=lambda p: p.last_used)

    close: list[Live[C]] = []
    if need_mine > 0:
        extra = need_mine - sum(p.closing for p in mine)
        candidates = idle(mine)
        if extra > len(candidates):
            raise ToolUnavailable(
                f"you already run {per_user} stdio MCP servers, the most one user may run at "
                "once, and each is busy; try again when a call has ended"
            )
        close += candidates[: max(extra, 0)]
    extra = need_all - len(closing) - len(close)
    if extra > 0:
        candidates = idle(mine, close) + idle([p for p in live if p.user_id != user_id])
        if extra > len(candidates):
            raise ToolUnavailable(
                f"this service already runs {total} stdio MCP servers, the most it runs at "
                "once, and each is busy; try again later"
            )
        close += candidates[:extra]
    return Room(
        close=[p.connection for p in close],
        wait=[p.connection for p in (*closing, *close)],
    )
