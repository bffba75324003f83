"""Per-user limits held by one instance: REST requests in any 60 s, and open sockets.

Both are per user and per instance (CONTRACT §1): nothing is shared between users, so one at
their limit costs another nothing, and nothing is shared between instances.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Final
from uuid import UUID

WINDOW_S: Final = 60.0


class RequestWindows:
    """At most `limit` admitted requests per user in any `window_s` seconds.

    Each user has the times of their admitted requests within the window (at most `limit` of
    them), so the answer is exact, not a bucket's approximation; a refused request is not
    counted. Users idle for a whole window are forgotten once a window. Per request: a dict
    lookup, the expired times dropped, one append.
    """

    __slots__ = ("_limit", "_next_sweep", "_refusing", "_users", "_window_s")

    def __init__(self, limit: int, *, window_s: float = WINDOW_S) -> None:
        self._limit = limit
        self._window_s = window_s
        self._users: dict[UUID, deque[float]] = {}
        self._refusing: set[UUID] = set()
        self._next_sweep = time.monotonic() + window_s

    def admit(self, user_id: UUID) -> float | None:
        """None when the request is admitted (and counted); else the seconds until it would be."""
        now = time.monotonic()
        times = self._users.get(user_id)
        if times is None:
            if now >= self._next_sweep:
                self._sweep(now)
            self._users[user_id] = deque((now,))
            return None
        horizon = now - self._window_s
        while times and times[0] <= horizon:
            times.popleft()
        if len(times) >= self._limit:
            return times[0] - horizon
        times.append(now)
        if self._refusing:
            self._refusing.discard(user_id)
        return None

    def first_refusal(self, user_id: UUID) -> bool:
        """True for the first refusal since the user was last admitted (to log it once)."""
        if user_id in self._refusing:
            return False
        self._refusing.add(user_id)
        return True

    def _sweep(self, now: float) -> None:
        horizon = now - self._window_s
        for user_id in [u for u, times in self._users.items() if not times or times[-1] <= horizon]:
            del self._users[user_id]
            self._refusing.discard(user_id)
        self._next_sweep = now + self._window_s


def retry_after(seconds: float) -> int:
    """Whole seconds to wait (Retry-After), at least 1."""
    return max(1, math.ceil(seconds))


class SocketCounts:
    """Open sockets per user; `acquire` refuses one past `limit`."""

    __slots__ = ("_limit", "_open")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._open: dict[UUID, int] = {}

    def acquire(self, user_id: UUID) -> bool:
        """Count one more socket of the user; False (and nothing counted) at the limit."""
        count = self._open.get(user_id, 0)
        if count >= self._limit:
            return False
        self._open[user_id] = count + 1
        return True

    def release(self, user_id: UUID) -> None:
        count = self._open.get(user_id, 0) - 1
        if count > 0:
            self._open[user_id] = count
        else:
            self._open.pop(user_id, None)

    def total(self) -> int:
        """How many sockets are open, over every user."""
        return sum(self._open.values())

    def open(self, user_id: UUID) -> int:
        """How many sockets of the user are open."""
        return self._open.get(user_id, 0)
