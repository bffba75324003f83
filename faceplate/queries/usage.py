"""Queries of sql/usage/."""

from __future__ import annotations

from datetime import date
from typing import Final
from uuid import UUID

import msgspec

from faceplate.db import Conn
from faceplate.sql import QUERIES
from faceplate.structs import UsageDay

_ADD: Final = QUERIES["add_token_usage"].text
_LIST: Final = QUERIES["list_token_usage"].text
_TODAY: Final = QUERIES["count_tokens_today"].text


async def add_token_usage(
    conn: Conn, *, user_id: UUID, model: str, input_tokens: int, output_tokens: int
) -> None:
    """sql/usage/add_token_usage.sql"""
    await conn.execute(_ADD, user_id, model, input_tokens, output_tokens)


async def list_token_usage(
    conn: Conn, *, user_id: UUID, from_day: date, to_day: date
) -> list[UsageDay]:
    """sql/usage/list_token_usage.sql"""
    rows = await conn.fetch(_LIST, user_id, from_day, to_day)
    return [msgspec.convert(dict(r), UsageDay) for r in rows]


async def count_tokens_today(conn: Conn, *, user_id: UUID) -> int:
    """sql/usage/count_tokens_today.sql"""
    tokens: int = await conn.fetchval(_TODAY, user_id)
    return tokens
