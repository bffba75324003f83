"""One turn's frames: numbered, text coalesced, encoded once, published to the conversation."""

from __future__ import annotations

import asyncio
import time
from typing import Final
from uuid import UUID

import msgspec

from faceplate.structs import Message, ToolCall, ToolResult
from faceplate.turns import frames as f
from faceplate.turns.fanout import Fanout

# One frame's text stays far below the 1 MiB frame size clients are likely to accept.
MAX_DELTA_CHARS: Final = 16_384


class TurnChannel:
    """Numbers the frames of one turn 1, 2, 3 … and publishes each once.

    Text from the model is appended to a pending buffer; a flush scheduled on the event loop (on
    its next iteration, or at most one per `frame_interval_s` when that is set) takes everything
    pending and sends it as one `text_delta`. So a model faster than the loop yields fewer,
    larger frames, a slower one costs no added delay, every socket gets the same frames, and seq
    stays gapless. Any other frame flushes pending text first, keeping the order.
    """

    def __init__(
        self,
        fanout: Fanout,
        conversation_id: UUID,
        turn_id: UUID,
        *,
        frame_interval_s: float = 0.0,
    ) -> None:
        self._fanout = fanout
        self.conversation_id = conversation_id
        self.turn_id = turn_id
        self._interval = frame_interval_s
        self.seq = 0
        self.ended = False
        self._streaming: UUID | None = None  # message whose text the sockets are receiving
        self._sent: list[str] = []  # its text already sent, for a socket that joins now
        self._pending: list[str] = []
        self._pending_id: UUID | None = None
        self._flush_at: asyncio.Handle | None = None
        self._last_flush = 0.0
        self._asking: dict[str, f.PendingFrame] = {}  # requests the user has not answered

    # --- what the runner sends -------------------------------------------------------------------

    def user_message(self, message: Message) -> None:
        """The user's stored message, before turn_start: not numbered."""
        self._publish(f.MessageFrame(message=message))

    def start(self) -> None:
        self._publish(f.TurnStartFrame(turn_id=self.turn_id, seq=self._next()))

    def text(self, message_id: UUID, delta: str) -> None:
        """Queue assistant text; it goes out with the next flush."""
        if not delta:
            return
        if self._pending_id is not None and self._pending_id != message_id:
            self.flush()
        self._pending_id = message_id
        self._pending.append(delta)
        if self._flush_at is None:
            loop = asyncio.get_running_loop()
            wait = self._last_flush + self._interval - time.monotonic()
            if wait > 0:
                self._flush_at = loop.call_later(wait, self.flush)
            else:
                self._flush_at = loop.call_soon(self.flush)

    def tool_call(self, message_id: UUID, call: ToolCall) -> None:
        self.flush()
        self._stream(message_id)
        self._publish(
            f.ToolCallFrame(
                turn_id=self.turn_id, seq=self._next(), message_id=message_id, tool_call=call
            )
        )

    def tool_result(self, result: ToolResult) -> None:
        self._publish(f.ToolResultFrame(turn_id=self.turn_id, seq=self._next(), tool_result=result))

    def authorization_required(self, config_id: UUID, name: str) -> None:
        self._publish(
            f.AuthorizationRequiredFrame(
                turn_id=self.turn_id, seq=self._next(), config_id=config_id, name=name
            )
        )

    def ask(self, frame: f.PendingFrame) -> f.PendingFrame:
        """An approval or elicitation request (its seq given here), pending until answered."""
        numbered = msgspec.structs.replace(frame, turn_id=self.turn_id, seq=self._next())
        self._asking[_key(numbered)] = numbered
        self._publish(numbered)
        return numbered

    def answered(self, frame: f.AnsweredFrame) -> None:
        """The outcome of a request: no longer pending."""
        numbered = msgspec.structs.replace(frame, turn_id=self.turn_id, seq=self._next())
        self._asking.pop(_key(numbered), None)
        self._publish(numbered)

    def message(self, message: Message) -> None:
        """A stored assistant or tool message; an assistant one ends its streaming."""
        self.flush()
        if message.id == self._streaming:
            self._streaming = None
            self._sent = []
        self._publish(f.MessageFrame(turn_id=self.turn_id, seq=self._next(), message=message))

    def end(self, status: f.TurnStatus, error: f.TurnError | None = None) -> None:
        """turn_end: always the last frame; later calls do nothing."""
        if self.ended:
            return
        self.flush()
        self.ended = True
        self._publish(
            f.TurnEndFrame(turn_id=self.turn_id, seq=self._next(), status=status, error=error)
        )

    # --- what a joining socket needs -------------------------------------------------------------

    def snapshot(self) -> tuple[f.ReadyTurn, f.TextDeltaFrame | None]:
        """The turn for `ready`, and the streaming message's text so far as one frame carrying the
        last seq (None when no assistant message is streaming, e.g. while a tool runs)."""
        ready = f.ReadyTurn(
            turn_id=self.turn_id,
            message_id=self._streaming,
            seq=self.seq,
            pending=list(self._asking.values()),
        )
        if self._streaming is None:
            return ready, None
        if len(self._sent) > 1:
            self._sent = ["".join(self._sent)]
        catch_up = f.TextDeltaFrame(
            turn_id=self.turn_id,
            seq=self.seq,
            message_id=self._streaming,
            delta=self._sent[0] if self._sent else "",
        )
        return ready, catch_up

    # --- internals --------------------------------------------------------------------------------

    def flush(self) -> None:
        """Send the pending text now, as one frame (several only past MAX_DELTA_CHARS)."""
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        if not self._pending or self._pending_id is None:
            return
        text = "".join(self._pending)
        message_id = self._pending_id
        self._pending = []
        self._pending_id = None
        self._last_flush = time.monotonic()
        self._stream(message_id)
        for start in range(0, len(text), MAX_DELTA_CHARS):
            piece = text[start : start + MAX_DELTA_CHARS]
            self._sent.append(piece)
            self._publish(
                f.TextDeltaFrame(
                    turn_id=self.turn_id, seq=self._next(), message_id=message_id, delta=piece
                )
            )

    def _stream(self, message_id: UUID) -> None:
        if self._streaming != message_id:
            self._streaming = message_id
            self._sent = []

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def _publish(self, frame: f.ServerFrame) -> None:
        # The user's message, before turn_start, goes with seq 0.
        self._fanout.publish(
            self.conversation_id, f.encode(frame), turn_id=self.turn_id, seq=self.seq
        )


def _key(frame: f.PendingFrame | f.AnsweredFrame) -> str:
    """What a request and its outcome share: the tool call's id, or the elicitation's."""
    if isinstance(frame, f.ApprovalRequestFrame):
        return f"approval {frame.tool_call.id}"
    if isinstance(frame, f.ApprovalResultFrame):
        return f"approval {frame.tool_call_id}"
    return f"elicitation {frame.elicitation_id}"
