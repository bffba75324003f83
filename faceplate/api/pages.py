"""Keyset pages: opaque cursors and the {items, next_cursor} shape."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Final, Generic, TypeVar

import msgspec

from faceplate.errors import Invalid

T = TypeVar("T")
K = TypeVar("K")


class Page(msgspec.Struct, Generic[T], frozen=True):
    items: list[T]
    next_cursor: str | None


def encode_cursor(key: object) -> str:
    """An opaque cursor for the keyset position `key`."""
    return base64.urlsafe_b64encode(msgspec.json.encode(key)).decode().rstrip("=")


class CursorCodec(Generic[K]):
    """Decodes cursors of one keyset shape; a cursor that does not decode is a 422."""

    def __init__(self, key_type: type[K]) -> None:
        self._decoder: Final = msgspec.json.Decoder(key_type)

    def decode(self, cursor: str | None) -> K | None:
        if cursor is None:
            return None
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            key = self._decoder.decode(raw)
            _check_storable(key)
        except (binascii.Error, ValueError, OverflowError, msgspec.DecodeError):
            raise Invalid("cursor is not valid") from None
        return key


def page_of(rows: Sequence[T], limit: int, key: Callable[[T], object]) -> Page[T]:
    """A page from up to limit + 1 rows: the extra row only says that more follow."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page(items=items, next_cursor=encode_cursor(key(items[-1])) if more else None)


def _check_storable(key: object) -> None:
    """Refuse keys PostgreSQL would refuse: NUL in text, instants beyond the UTC calendar."""
    for part in key if isinstance(key, tuple) else (key,):
        if isinstance(part, str) and "\x00" in part:
            raise ValueError("NUL in cursor")
        if isinstance(part, datetime):
            part.astimezone(UTC)  # OverflowError past year 1 or 9999
