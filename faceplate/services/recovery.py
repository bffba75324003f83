"""Crash recovery of turns: what a dead process left streaming is marked interrupted."""

from __future__ import annotations

import logging

from faceplate.db import Database
from faceplate.queries import messages as q

_log = logging.getLogger(__name__)


class TurnRecovery:
    """Run once the schema is ready, before anything is served."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def recover(self) -> int:
        """Mark every message left streaming as interrupted; return how many.

        Right for a single instance: with several, a lease must say which turns are dead.
        """
        async with self._db.connection() as conn:
            marked = await q.mark_streaming_interrupted(conn)
        if marked:
            _log.warning("marked %d streaming message(s) interrupted", marked)
        return marked
