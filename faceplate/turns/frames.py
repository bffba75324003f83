"""The WebSocket frames of CONTRACT §10: client → server, server → client (`type` first), and
every close code with the reason its close frame carries."""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any, Final, Literal
from uuid import UUID

import msgspec

from faceplate.structs import Message, ToolCall, ToolResult

TurnStatus = Literal["completed", "cancelled", "failed"]
ApprovalDecision = Literal["allow", "deny"]
DecidedBy = Literal["user", "policy", "timeout", "cancel"]
ElicitAction = Literal["accept", "decline", "cancel"]

# --- close codes ----------------------------------------------------------------------------------


class CloseCode(IntEnum):
    """Every code the server closes a conversation socket with; `reason` goes in the close frame."""

    BAD_AUTH = 4401
    NOT_FOUND = 4404
    AUTH_TIMEOUT = 4408
    EMAIL_TAKEN = 4409
    TOO_MANY_SOCKETS = 4429
    TOO_BIG = 1009
    SERVER_FAULT = 1011
    RESTARTING = 1012
    TOO_SLOW = 1013

    @property
    def reason(self) -> str:
        """A short reason (well under the 123 bytes a close frame can carry)."""
        return _CLOSE_REASONS[self]


_CLOSE_REASONS: Final[dict[CloseCode, str]] = {
    CloseCode.BAD_AUTH: "unauthorized: bad, missing or expired token",
    CloseCode.NOT_FOUND: "conversation not found",
    CloseCode.AUTH_TIMEOUT: "no auth frame in time",
    CloseCode.EMAIL_TAKEN: "the token's email belongs to another user",
    CloseCode.TOO_MANY_SOCKETS: "too many sockets for this user",
    CloseCode.TOO_BIG: "frame over 1 MiB",
    CloseCode.SERVER_FAULT: "server fault",
    CloseCode.RESTARTING: "server restarting: reconnect",
    CloseCode.TOO_SLOW: "too far behind: reconnect and catch up",
}

# --- client → server ------------------------------------------------------------------------------


class AuthFrame(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    tag_field="type",
    tag="auth",
    forbid_unknown_fields=True,
):
    token: str


class UserMessageFrame(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    tag_field="type",
    tag="user_message",
    forbid_unknown_fields=True,
):
    """`parent_id` left out continues the active branch; a message id (or null: a new root)
    starts a new branch after it ("edit and resend")."""

    content: str
    parent_id: UUID | msgspec.UnsetType | None = msgspec.UNSET


class RegenerateFrame(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    tag_field="type",
    tag="regenerate",
    forbid_unknown_fields=True,
):
    """Answer again, on a new branch, the user message that `message_id` (by default the active
    leaf) answers."""

    message_id: UUID | None = None


class CancelFrame(
    msgspec.Struct, frozen=True, tag_field="type", tag="cancel", forbid_unknown_fields=True
):
    pass


class PingFrame(
    msgspec.Struct, frozen=True, tag_field="type", tag="ping", forbid_unknown_fields=True
):
    pass


class ApprovalFrame(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    tag_field="type",
    tag="approval",
    forbid_unknown_fields=True,
):
    """The user's answer to an `approval_request`; `remember` keeps it as the tool's policy."""

    tool_call_id: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    decision: ApprovalDecision
    remember: bool = False


class ElicitationResponseFrame(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    tag_field="type",
    tag="elicitation_response",
    forbid_unknown_fields=True,
):
    """The user's answer to an `elicitation_request`; `content` only with `accept`."""

    elicitation_id: Annotated[str, msgspec.Meta(max_length=64)]
    action: ElicitAction
    content: dict[str, Any] | None = None


ClientFrame = (
    AuthFrame
    | UserMessageFrame
    | RegenerateFrame
    | CancelFrame
    | PingFrame
    | ApprovalFrame
    | ElicitationResponseFrame
)
CLIENT_FRAMES: Final = msgspec.json.Decoder(ClientFrame)

# --- server → client ------------------------------------------------------------------------------


class ApprovalRequestFrame(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="approval_request"
):
    """A call waits for the user's approval; `tool` is the server's own name of the tool."""

    turn_id: UUID
    seq: int
    tool_call: ToolCall
    config_id: UUID
    tool: str
    annotations: dict[str, Any] | None


class ApprovalResultFrame(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="approval_result"
):
    turn_id: UUID
    seq: int
    tool_call_id: str
    decision: ApprovalDecision
    by: DecidedBy


class ElicitationRequestFrame(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="elicitation_request"
):
    """An MCP server asks the user for input during a call (form mode)."""

    turn_id: UUID
    seq: int
    elicitation_id: UUID
    config_id: UUID
    message: str
    requested_schema: dict[str, Any]


class ElicitationResultFrame(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="elicitation_result"
):
    turn_id: UUID
    seq: int
    elicitation_id: UUID
    action: ElicitAction


PendingFrame = ApprovalRequestFrame | ElicitationRequestFrame
AnsweredFrame = ApprovalResultFrame | ElicitationResultFrame


class ReadyTurn(msgspec.Struct, frozen=True, kw_only=True):
    """The turn running when a socket joins; `seq` is the last frame it already sent (0: none);
    `pending` the approval and elicitation requests it still waits on."""

    turn_id: UUID
    message_id: UUID | None
    seq: int
    pending: list[PendingFrame] = []


class ReadyFrame(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="ready"):
    conversation_id: UUID
    turn: ReadyTurn | None


class PongFrame(msgspec.Struct, frozen=True, tag_field="type", tag="pong"):
    pass


class ErrorFrame(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="error", omit_defaults=True
):
    code: str
    message: str
    retry_after_s: int | None = None  # with `rate_limited`: whole seconds until one would pass


class MessageFrame(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="message", omit_defaults=True
):
    """A stored message; the user's, sent before `turn_start`, carries no turn_id and seq."""

    turn_id: UUID | None = None
    seq: int | None = None
    message: Message


class TurnStartFrame(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="turn_start"):
    turn_id: UUID
    seq: int


class TextDeltaFrame(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="text_delta"):
    turn_id: UUID
    seq: int
    message_id: UUID
    delta: str


class ToolCallFrame(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="tool_call"):
    turn_id: UUID
    seq: int
    message_id: UUID
    tool_call: ToolCall


class ToolResultFrame(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="tool_result"
):
    turn_id: UUID
    seq: int
    tool_result: ToolResult


class AuthorizationRequiredFrame(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="authorization_required"
):
    """At a step's start: this enabled config needs OAuth authorization, its tools left out."""

    turn_id: UUID
    seq: int
    config_id: UUID
    name: str


class TurnError(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    message: str


class TurnEndFrame(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="turn_end", omit_defaults=True
):
    turn_id: UUID
    seq: int
    status: TurnStatus
    error: TurnError | None = None


ServerFrame = (
    ReadyFrame
    | PongFrame
    | ErrorFrame
    | MessageFrame
    | TurnStartFrame
    | TextDeltaFrame
    | ToolCallFrame
    | ToolResultFrame
    | AuthorizationRequiredFrame
    | ApprovalRequestFrame
    | ApprovalResultFrame
    | ElicitationRequestFrame
    | ElicitationResultFrame
    | TurnEndFrame
)
SERVER_FRAMES: Final = msgspec.json.Decoder(ServerFrame)
"""For clients and tests: decodes any server frame."""

_ENCODER: Final = msgspec.json.Encoder()


def encode(frame: ServerFrame) -> str:
    """A frame as the JSON text sent on the socket; encode once, send to every socket."""
    return _ENCODER.encode(frame).decode()


def error(code: str, message: str, *, retry_after_s: int | None = None) -> str:
    """An encoded `error` frame."""
    return encode(ErrorFrame(code=code, message=message, retry_after_s=retry_after_s))


PONG: Final = encode(PongFrame())
