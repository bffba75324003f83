"""Row structs and the JSONB shapes stored in messages and mcp_configs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

Role = Literal["user", "assistant", "system", "tool"]
FinishReason = Literal["stop", "tool_calls", "length", "cancelled", "error", "interrupted"]
ToolApproval = Literal["never", "writes", "always"]
"""When a config's tools ask the user first: never, before any not read-only (`writes`), always."""
ToolPolicy = Literal["allow", "ask", "deny"]
"""One tool's policy: run it, ask the user first, or never offer it."""


# --- JSONB: tool calls and results (messages.tool_calls / messages.tool_results) ---------------


class ToolCall(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    arguments: dict[str, Any]


class TextBlock(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="text"):
    text: str


class ImageBlock(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="image"):
    data: str
    mime_type: str


class ResourceBlock(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="resource"):
    uri: str
    mime_type: str | None = None
    text: str | None = None
    blob: str | None = None


ContentBlock = TextBlock | ImageBlock | ResourceBlock


class ToolResult(msgspec.Struct, frozen=True, kw_only=True):
    tool_call_id: str
    name: str
    is_error: bool
    content: list[ContentBlock]
    duration_ms: int


# --- JSONB: MCP server configs (mcp_configs.config) -------------------------------------------


class OAuthClient(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A client pre-registered with the server's authorization server (`config.oauth`)."""

    client_id: str
    client_secret: str | None = None
    scopes: list[str] = []


class HttpConfig(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="transport", tag="streamable_http"
):
    url: str
    headers: dict[str, str] = {}
    oauth: OAuthClient | msgspec.UnsetType = msgspec.UNSET


class SseConfig(msgspec.Struct, frozen=True, kw_only=True, tag_field="transport", tag="sse"):
    url: str
    headers: dict[str, str] = {}
    oauth: OAuthClient | msgspec.UnsetType = msgspec.UNSET


class StdioConfig(msgspec.Struct, frozen=True, kw_only=True, tag_field="transport", tag="stdio"):
    command: str
    args: list[str] = []
    env: dict[str, str] = {}


McpServerConfig = HttpConfig | SseConfig | StdioConfig


# --- Rows ---------------------------------------------------------------------------------------


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    email: str
    subject_id: str
    created_at: datetime


class Conversation(msgspec.Struct, frozen=True, kw_only=True):
    """A conversation; `snippet` is not a column: search results carry it, lists do not."""

    id: UUID
    title: str | None
    model: str | None = None
    archived: bool = False
    active_message_id: UUID | None = None
    created_at: datetime
    updated_at: datetime
    snippet: str | msgspec.UnsetType = msgspec.UNSET


class TokenUsage(msgspec.Struct, frozen=True, kw_only=True):
    """JSONB (messages.usage): the tokens an answer cost, as its provider reported them."""

    input_tokens: int
    output_tokens: int


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """A stored message. `sibling_ids` is not a column: the children of its parent (the roots,
    for a root), oldest first, itself included."""

    id: UUID
    conversation_id: UUID
    parent_id: UUID | None = None
    sibling_ids: list[UUID] = []
    role: Role
    content: str
    tool_calls: list[ToolCall] | None
    tool_results: list[ToolResult] | None
    finish_reason: FinishReason | None
    model: str | None = None
    usage: TokenUsage | None = None
    created_at: datetime


class RawMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message as the messages route relays it: `Message`'s fields, its tool calls, results
    and usage the stored JSONB text as it is (JSON-equal to `Message`'s, keys in PostgreSQL's
    order)."""

    id: UUID
    conversation_id: UUID
    parent_id: UUID | None
    sibling_ids: list[UUID]
    role: Role
    content: str
    tool_calls: msgspec.Raw | None
    tool_results: msgspec.Raw | None
    finish_reason: FinishReason | None
    model: str | None
    usage: msgspec.Raw | None
    created_at: datetime


class UsageDay(msgspec.Struct, frozen=True, kw_only=True):
    """A user's tokens of one UTC day and one model (token_usage)."""

    date: date
    model: str
    input_tokens: int
    output_tokens: int


class SealedConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A stored config as it is, secrets encrypted: what key rotation reads and writes."""

    id: UUID
    config: McpServerConfig


class SealedGrant(msgspec.Struct, frozen=True, kw_only=True):
    """A config's OAuth secrets as stored (encrypted): what key rotation reads and writes."""

    config_id: UUID
    client_secret: str | None
    access_token: str | None
    refresh_token: str | None


class SealedClient(msgspec.Struct, frozen=True, kw_only=True):
    """A registered OAuth client's secret as stored (encrypted), for key rotation."""

    issuer: str
    redirect_uri: str
    client_secret: str


class SealedState(msgspec.Struct, frozen=True, kw_only=True):
    """A pending authorization's secrets as stored (encrypted), for key rotation."""

    state_hash: bytes
    code_verifier: str
    client_secret: str | None


class McpConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A stored MCP config; header and env values in `config` are still encrypted. `oauth` is
    not a column: the service fills it from the config's OAuth row, when it has one."""

    id: UUID
    name: str
    config: McpServerConfig
    enabled: bool
    tool_approval: ToolApproval = "never"
    tool_policies: dict[str, ToolPolicy] = {}
    oauth: OAuthState | None = None
    created_at: datetime
    updated_at: datetime


# --- OAuth of MCP servers (mcp_oauth, oauth_states, oauth_clients) -----------------------------

ClientAuth = Literal["none", "client_secret_basic", "client_secret_post"]
OAuthStatus = Literal["connected", "needs_authorization"]


class OAuthServer(msgspec.Struct, frozen=True, kw_only=True):
    """JSONB: the authorization server found for an MCP server, and what it serves."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    resource: str
    registration_endpoint: str | None = None
    revocation_endpoint: str | None = None
    scopes: list[str] = []  # what to ask for: the challenge's, else the metadata's
    supported_scopes: list[str] = []  # every scope the authorization server offers
    iss_parameter_supported: bool = False
    client_id_metadata_document_supported: bool = False
    # RFC 8414 §2: when the server does not say, client_secret_basic is what it supports.
    token_endpoint_auth_methods: list[str] = msgspec.field(
        default_factory=lambda: ["client_secret_basic"]
    )


class OAuthGrant(msgspec.Struct, frozen=True, kw_only=True):
    """A config's OAuth row; the client secret and the tokens are still encrypted."""

    config_id: UUID
    status: OAuthStatus
    server: OAuthServer | None
    scopes: list[str]
    client_id: str | None
    client_secret: str | None
    client_auth: ClientAuth | None
    access_token: str | None
    refresh_token: str | None
    issued_at: datetime | None
    expires_at: datetime | None
    updated_at: datetime


class OAuthState(msgspec.Struct, frozen=True, kw_only=True):
    """A config's OAuth as clients see it; null for a server that never asked."""

    status: OAuthStatus
    scopes: list[str]
    expires_at: datetime | None


class TokenTimes(msgspec.Struct, frozen=True, kw_only=True):
    issued_at: datetime
    expires_at: datetime | None
    updated_at: datetime


class OAuthStatusRow(msgspec.Struct, frozen=True, kw_only=True):
    config_id: UUID
    status: OAuthStatus
    scopes: list[str]
    expires_at: datetime | None


class OAuthPending(msgspec.Struct, frozen=True, kw_only=True):
    """An authorization started and taken back by its callback; verifier and secret encrypted."""

    user_id: UUID
    config_id: UUID
    code_verifier: str
    redirect_uri: str
    server: OAuthServer
    scopes: list[str]
    client_id: str
    client_secret: str | None
    client_auth: ClientAuth
    expired: bool


class RegisteredClient(msgspec.Struct, frozen=True, kw_only=True):
    """A dynamically registered client of one authorization server; the secret encrypted."""

    issuer: str
    redirect_uri: str
    client_id: str
    client_secret: str | None
    auth_method: ClientAuth
    secret_expires_at: datetime | None


# --- turns (sql/turns) ------------------------------------------------------------------------

TurnRowStatus = Literal["running", "completed", "cancelled", "failed", "interrupted"]


class TurnFence(msgspec.Struct, frozen=True, kw_only=True):
    """A turn's claim: every write the turn makes names it, and fails once it is taken over."""

    id: UUID
    epoch: int


class TurnCounts(msgspec.Struct, frozen=True, kw_only=True):
    busy: bool
    running: int
    recent: int
    window_frees_in_s: float


class RunningTurn(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    instance_id: str
    epoch: int


class TakenTurn(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    conversation_id: UUID
    user_id: UUID
    epoch: int
    previous_instance_id: str

    @property
    def fence(self) -> TurnFence:
        return TurnFence(id=self.id, epoch=self.epoch)


class UnansweredCalls(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    tool_calls: list[ToolCall]
