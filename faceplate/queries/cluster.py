"""Queries of sql/cluster/."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from faceplate.db import Conn
from faceplate.sql import QUERIES

_NOTIFY: Final = QUERIES["notify"].text


async def notify(conn: Conn, *, channels: Sequence[str], payloads: Sequence[str]) -> int:
    """sql/cluster/notify.sql; the notifications sent, in order, in one commit."""
    sent: int = await conn.fetchval(_NOTIFY, channels, payloads)
    return sent
