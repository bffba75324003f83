"""Start-up recovery of turns a dead process left behind."""

from __future__ import annotations

import logging

from faceplate.db import Database
from faceplate.queries import messages as q

_log = logging.getLogger("faceplate.turns")


async def recover(db: Database) -> int:
    """Mark every message left streaming as interrupted; return how many.

    Right for a single instance: with several, a lease must say which turns are dead.
    """
    async with db.connection() as conn:
        marked = await q.mark_streaming_interrupted(conn)
    if marked:
        _log.warning("marked %d streaming message(s) interrupted", marked)
    return marked
