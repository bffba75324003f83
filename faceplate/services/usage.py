"""The tokens users spent, per UTC day and model, and the daily limit of
FACEPLATE_LIMIT_TOKENS_PER_DAY, counted in the database so that every instance sees the same."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Final

import msgspec

from faceplate.db import Database
from faceplate.errors import Invalid, RateLimited
from faceplate.queries import usage as q
from faceplate.structs import UsageDay, User

DEFAULT_DAYS: Final = 30
MAX_DAYS: Final = 366


class UsageReport(msgspec.Struct, frozen=True, kw_only=True):
    days: list[UsageDay]
    limit_per_day: int | None
    used_today: int


def today() -> date:
    return datetime.now(UTC).date()


def seconds_to_midnight(now: datetime | None = None) -> int:
    """Whole seconds until the next UTC day begins (at least 1)."""
    now = now or datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return max(1, int((midnight - now).total_seconds() + 0.999))


class Usage:
    """Reads the per-day sums the turns add to; `limit_per_day` 0 means no limit."""

    def __init__(self, db: Database, *, limit_per_day: int) -> None:
        self._db = db
        self.limit_per_day = limit_per_day

    async def report(self, user: User, from_day: date | None, to_day: date | None) -> UsageReport:
        """The user's tokens per day and model from `from_day` to `to_day` (both included, by
        default the last 30 days); Invalid for a span that is reversed or over 366 days."""
        to_day = to_day or today()
        from_day = from_day or to_day - timedelta(days=DEFAULT_DAYS - 1)
        if from_day > to_day:
            raise Invalid("from must not be after to")
        if (to_day - from_day).days + 1 > MAX_DAYS:
            raise Invalid(f"from and to span at most {MAX_DAYS} days")
        async with self._db.connection() as conn:
            days = await q.list_token_usage(conn, user_id=user.id, from_day=from_day, to_day=to_day)
            used = await q.count_tokens_today(conn, user_id=user.id)
        return UsageReport(days=days, limit_per_day=self.limit_per_day or None, used_today=used)

    async def check_quota(self, user: User) -> None:
        """Before a turn: RateLimited (until the next UTC day) once the user's tokens of today
        reach the limit. Opens its own connection; nothing to do without a limit."""
        if not self.limit_per_day:
            return
        async with self._db.connection() as conn:
            used = await q.count_tokens_today(conn, user_id=user.id)
        if used >= self.limit_per_day:
            raise RateLimited(
                f"the daily limit of {self.limit_per_day} model tokens is reached",
                retry_after_s=seconds_to_midnight(),
            )
