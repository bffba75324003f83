"""What instances tell each other, as NOTIFY messages: a JSON header line, then frames.

A message is `header` + (`"\\n"` + frame)*: the frames are sent exactly as the sockets get them
(encoded once, never escaped again), one per line (encoded JSON holds no raw newline).
"""

from __future__ import annotations

from typing import Final
from uuid import UUID

import msgspec

BROADCAST: Final = "faceplate"
"""The channel every instance listens on (deletions)."""


def channel_of(instance_id: str) -> str:
    """The channel an instance listens on for what is meant for it alone."""
    return f"faceplate:{instance_id}"


class Frame(msgspec.Struct, frozen=True, tag="frame", array_like=True):
    """One frame of a turn (seq 0: the user's message before turn_start); one frame follows.

    `sent_at` is the sender's wall clock (Unix seconds) when it queued the frame: the receiver's
    notification-lag metric (hosts' clock skew included, so keep them on NTP).
    """

    conversation_id: UUID
    turn_id: UUID
    seq: int
    sent_at: float = 0.0


class Ended(msgspec.Struct, frozen=True, tag="end", array_like=True):
    """The owner's turn has sent its turn_end."""

    conversation_id: UUID
    turn_id: UUID


class Join(msgspec.Struct, frozen=True, tag="join", array_like=True):
    """A socket of `reply_to` joins: send its snapshot, then the turn's frames, to it."""

    conversation_id: UUID
    request: int
    reply_to: str


class Snap(msgspec.Struct, frozen=True, tag="snap", array_like=True):
    """The answer to a Join: `ready` (and the text so far) follow; turn None: no turn runs."""

    conversation_id: UUID
    request: int
    turn_id: UUID | None
    seq: int


class Cancel(msgspec.Struct, frozen=True, tag="cancel", array_like=True):
    """Stop the conversation's turn (a socket elsewhere sent `cancel`)."""

    conversation_id: UUID


class Deleted(msgspec.Struct, frozen=True, tag="deleted", array_like=True):
    """The conversation was deleted: stop its turn, close its sockets 4404."""

    conversation_id: UUID


class Interrupted(msgspec.Struct, frozen=True, tag="interrupted", array_like=True):
    """A dead instance's turn was taken over and ended: its watchers end it for their sockets."""

    conversation_id: UUID
    turn_id: UUID


class Decided(msgspec.Struct, frozen=True, tag="decided", array_like=True):
    """A request the conversation's turn waits on was decided (stored): wake the turn."""

    conversation_id: UUID
    request_id: UUID


Header = Frame | Ended | Join | Snap | Cancel | Deleted | Interrupted | Decided

_ENCODER: Final = msgspec.json.Encoder()
_DECODER: Final = msgspec.json.Decoder(Header)


def encode(header: Header, *frames: str) -> str:
    return "\n".join((_ENCODER.encode(header).decode(), *frames))


def decode(message: str) -> tuple[Header, list[str]]:
    """The header and the frames of a message; msgspec.DecodeError if it is none."""
    head, *frames = message.split("\n")
    return _DECODER.decode(head), frames
