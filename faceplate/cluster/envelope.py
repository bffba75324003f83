"""NOTIFY payloads: a message of any size cut into parts that fit, and put back together.

A NOTIFY payload is text of fewer than 8000 bytes. A message (any bytes) travels as one or more
parts, each one NOTIFY payload: the JSON array `[sender, message_id, index, count, body]`
and whether the body is base64 (`Part`).

A message that is UTF-8 (JSON frames always are) is sent as text: its JSON string escaping is
computed once for the whole message, then cut where neither a UTF-8 sequence nor an escape
(`\\n`, `\\u0000`) is split, so each part's body is a valid JSON string and the parts' decoded
bodies concatenate to the message. Bytes that are not UTF-8 go as base64. Either way a part never
exceeds `MAX_PAYLOAD` bytes, whatever characters the message holds.

A sender numbers its messages with increasing ids. PostgreSQL delivers a transaction's
notifications together, in order, and a sender puts all parts of a message in one transaction;
so a listener sees a sender's parts contiguous and in order, except around a listener's lost
connection. The `Reassembler` delivers each whole message once, in order per sender, and drops a
message whose parts stopped coming (its sender went away, or the listener lost its connection).
Identical payloads in one transaction are delivered once by PostgreSQL; the id and index in every
part keep every payload distinct.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Final

import msgspec

MAX_PAYLOAD: Final = 7900
"""Bytes of one NOTIFY payload at most (PostgreSQL refuses 8000 or more)."""

_BACKSLASH: Final = 0x5C
_U: Final = 0x75


class Part(msgspec.Struct, array_like=True, frozen=True):
    """One NOTIFY payload, as read: a piece of message `message_id` of `sender`."""

    sender: str
    message_id: int
    index: int
    count: int
    body: str
    base64: bool = False


class _PartOut(msgspec.Struct, array_like=True, frozen=True):
    """One NOTIFY payload, as written: `body` is already a JSON string (escaped, quoted)."""

    sender: str
    message_id: int
    index: int
    count: int
    body: msgspec.Raw
    base64: bool = False


_ENC: Final = msgspec.json.Encoder()
_DEC: Final = msgspec.json.Decoder(Part)


def split(sender: str, message_id: int, body: bytes, *, limit: int = MAX_PAYLOAD) -> list[str]:
    """The NOTIFY payloads carrying `body`, in order, each at most `limit` bytes of UTF-8."""
    try:
        escaped = _ENC.encode(body.decode())[1:-1]
        binary = False
    except UnicodeDecodeError:
        escaped = base64.b64encode(body)
        binary = True
    # An upper bound of the envelope around a body: the count has no more digits than the body
    # has bytes, and an index no more than the count.
    bound = len(escaped) + 1
    overhead = len(_ENC.encode(_PartOut(sender, message_id, bound, bound, _EMPTY, binary)))
    room = limit - overhead
    if room < 8:
        raise ValueError(f"a sender name of {len(sender)} characters leaves no room in a payload")
    pieces: list[bytes] = []
    start = 0
    while True:
        end = len(escaped) if binary else _cut(escaped, start, room)
        end = min(end, start + room)
        pieces.append(escaped[start:end])
        start = end
        if start >= len(escaped):
            break
    count = len(pieces)
    return [
        _ENC.encode(
            _PartOut(sender, message_id, index, count, msgspec.Raw(b'"' + piece + b'"'), binary)
        ).decode()
        for index, piece in enumerate(pieces)
    ]


_EMPTY: Final = msgspec.Raw(b'""')


def _cut(data: bytes, start: int, room: int) -> int:
    """Where the piece of escaped JSON string text from `start` ends: at most `room` bytes on,
    never inside a UTF-8 sequence or an escape."""
    end = start + room
    if end >= len(data):
        return len(data)
    while data[end] & 0xC0 == 0x80:  # a continuation byte starts no character
        end -= 1
    if _escape_starts(data, start, end - 1):
        return end - 1  # `\X` or the head of `\uXXXX` would be cut after its backslash
    for back in range(2, 6):  # inside `\uXXXX`, 2 to 5 bytes after its backslash
        q = end - back
        if q < start:
            break
        if data[q] == _BACKSLASH and data[q + 1] == _U and _escape_starts(data, start, q):
            return q
    return end


def _escape_starts(data: bytes, start: int, at: int) -> bool:
    """Whether a backslash at `at` begins an escape (an odd run of backslashes ends there)."""
    run = 0
    while at - run >= start and data[at - run] == _BACKSLASH:
        run += 1
    return run % 2 == 1


@dataclass(frozen=True, slots=True)
class Message:
    """A whole message as sent."""

    sender: str
    message_id: int
    body: bytes


@dataclass(slots=True)
class _Partial:
    message_id: int
    count: int
    base64: bool
    pieces: list[str]
    size: int


class Reassembler:
    """Whole messages from NOTIFY payloads, in order per sender, each delivered once.

    `skip_sender` ignores a sender's own payloads (a listener hears its own instance).
    A message whose parts stop coming is dropped when the next message of its sender begins,
    on `forget(sender)`, on `reset()`, or once it exceeds `max_bytes`.
    """

    def __init__(self, *, skip_sender: str | None = None, max_bytes: int = 64 * 1024 * 1024):
        self._skip = skip_sender
        self._max_bytes = max_bytes
        self._partial: dict[str, _Partial] = {}
        self._last: dict[str, int] = {}
        self.dropped = 0
        """Messages given up incomplete (or too large)."""
        self.malformed = 0
        """Payloads that were not parts, or parts no message fits."""
        self.duplicates = 0
        """Messages seen again (a sender retried a commit it could not confirm)."""

    @property
    def pending(self) -> int:
        """Messages begun and not complete."""
        return len(self._partial)

    def feed(self, payload: str) -> Message | None:
        """The message this payload completes, if any."""
        try:
            part = _DEC.decode(payload)
        except msgspec.DecodeError:
            self.malformed += 1
            return None
        if part.count < 1 or not 0 <= part.index < part.count:
            self.malformed += 1
            return None
        sender = part.sender
        if sender == self._skip:
            return None
        if part.message_id <= self._last.get(sender, -1):
            if part.index == 0:
                self.duplicates += 1
            return None
        partial = self._partial.get(sender)
        if partial is not None and (
            partial.message_id != part.message_id or part.index != len(partial.pieces)
        ):
            del self._partial[sender]
            self.dropped += 1
            partial = None
        if partial is None:
            if part.index != 0:
                return None  # the rest of a message whose start went to nobody
            if part.count == 1:
                return self._deliver(sender, part.message_id, part.base64, part.body)
            partial = _Partial(part.message_id, part.count, part.base64, [], 0)
            self._partial[sender] = partial
        partial.pieces.append(part.body)
        partial.size += len(part.body)
        if partial.size > self._max_bytes:
            del self._partial[sender]
            self._last[sender] = part.message_id
            self.dropped += 1
            return None
        if len(partial.pieces) < partial.count:
            return None
        del self._partial[sender]
        return self._deliver(sender, part.message_id, partial.base64, "".join(partial.pieces))

    def _deliver(self, sender: str, message_id: int, binary: bool, text: str) -> Message | None:
        self._last[sender] = message_id
        if not binary:
            return Message(sender, message_id, text.encode())
        try:
            return Message(sender, message_id, base64.b64decode(text, validate=True))
        except binascii.Error:
            self.malformed += 1
            return None

    def forget(self, sender: str) -> None:
        """The sender went away: drop its incomplete message and what is known of it."""
        if self._partial.pop(sender, None) is not None:
            self.dropped += 1
        self._last.pop(sender, None)

    def reset(self) -> None:
        """The listener missed notifications: drop every incomplete message."""
        self.dropped += len(self._partial)
        self._partial.clear()
