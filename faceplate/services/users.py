"""Users by token identity, created on first sight and kept in step with the token's email."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Final

from uuid6 import uuid7

from faceplate.auth.claims import Identity
from faceplate.db import Database
from faceplate.queries import users as q
from faceplate.structs import User

_TTL_S: Final = 60.0
_MAX_ENTRIES: Final = 10_000


class Users:
    """Resolves identities to user rows; a short in-process cache keeps requests read-free."""

    def __init__(self, db: Database, *, ttl_s: float = _TTL_S) -> None:
        self._db = db
        self._ttl_s = ttl_s
        # By subject and email: a refreshed token (another exp) still finds its user.
        self._cache: OrderedDict[tuple[str, str], tuple[float, User]] = OrderedDict()

    async def resolve(self, identity: Identity) -> User:
        """The user of this identity, created or re-emailed as needed; Conflict if the email
        belongs to another subject. Opens its own connection only on a cache miss."""
        key = (identity.subject, identity.email)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        async with self._db.connection() as conn:
            user = await q.get_user_by_subject(conn, subject_id=identity.subject)
            if user is None or user.email != identity.email:
                user = await q.upsert_user(
                    conn, id=uuid7(), subject_id=identity.subject, email=identity.email
                )
        self._cache[key] = (now + self._ttl_s, user)
        self._cache.move_to_end(key)
        while len(self._cache) > _MAX_ENTRIES:
            self._cache.popitem(last=False)
        return user
