"""The limits of a conversation WebSocket: the contract's values, adjustable in tests."""

from __future__ import annotations

import msgspec


class SocketLimits(msgspec.Struct, frozen=True, kw_only=True):
    auth_timeout_s: float = 10.0
    max_frame_bytes: int = 1024 * 1024
    max_content_bytes: int = 65_536
    # How far a socket may fall behind its conversation before it is closed with 1013.
    outbox_frames: int = 1024
    outbox_chars: int = 4 * 1024 * 1024
    # How long to wait for a close frame to go out to a client that stopped reading.
    close_timeout_s: float = 10.0
