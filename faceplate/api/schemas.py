"""Request and response bodies of the REST routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from faceplate.structs import (
    HttpConfig,
    OAuthClient,
    SseConfig,
    StdioConfig,
    ToolApproval,
    ToolPolicy,
)

Title = Annotated[str, msgspec.Meta(max_length=255)]
ConfigName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


ModelName = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class CreateConversation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    title: Title | None = None
    model: ModelName | None = None  # one of GET /v1/models; null: the default


class PatchConversation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Any of the fields; one left out keeps its value."""

    title: Title | msgspec.UnsetType | None = msgspec.UNSET
    model: ModelName | msgspec.UnsetType | None = msgspec.UNSET
    archived: bool | msgspec.UnsetType = msgspec.UNSET


class SetActiveMessage(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    message_id: UUID


# RFC 6749 §3.3: a scope is a run of printable ASCII without space, quote or backslash.
Scope = Annotated[str, msgspec.Meta(pattern=r"^[\x21\x23-\x5b\x5d-\x7e]{1,256}$")]


class OAuthClientIn(OAuthClient, frozen=True, forbid_unknown_fields=True):
    client_id: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    client_secret: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)] | None = None
    scopes: Annotated[list[Scope], msgspec.Meta(max_length=64)] = msgspec.field(
        default_factory=list
    )


# The stored config structs tolerate unknown fields (old code reads new rows); a request
# must not: a misspelt "headers" would silently drop a secret.
class HttpConfigIn(HttpConfig, frozen=True, forbid_unknown_fields=True):
    oauth: OAuthClientIn | msgspec.UnsetType = msgspec.UNSET


class SseConfigIn(SseConfig, frozen=True, forbid_unknown_fields=True):
    oauth: OAuthClientIn | msgspec.UnsetType = msgspec.UNSET


class StdioConfigIn(StdioConfig, frozen=True, forbid_unknown_fields=True):
    pass


McpServerConfigIn = HttpConfigIn | SseConfigIn | StdioConfigIn

ToolName = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
MAX_TOOL_POLICIES = 1024
ToolPolicies = Annotated[dict[ToolName, ToolPolicy], msgspec.Meta(max_length=MAX_TOOL_POLICIES)]
"""A server tool name (its own, not the model's) to its policy; wins over `tool_approval`."""


class CreateMcpConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: ConfigName
    config: McpServerConfigIn
    enabled: bool = True
    tool_approval: ToolApproval | msgspec.UnsetType = msgspec.UNSET  # the setting's default
    tool_policies: ToolPolicies = msgspec.field(default_factory=dict)


class PatchMcpConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: ConfigName | msgspec.UnsetType = msgspec.UNSET
    config: McpServerConfigIn | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    tool_approval: ToolApproval | msgspec.UnsetType = msgspec.UNSET
    tool_policies: ToolPolicies | msgspec.UnsetType = msgspec.UNSET  # replaces the whole map


class Me(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    email: str
    created_at: datetime


class ToolInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A server's tool: `name` its own, `model_name` what the model calls it (null while the
    config is disabled, or when another tool of the server already has that name, or the tool
    is denied), its annotations (the server's hints) and the policy in effect for it."""

    name: str
    model_name: str | None
    description: str
    input_schema: dict[str, Any]
    annotations: dict[str, Any] | None
    policy: ToolPolicy


class ToolList(msgspec.Struct, frozen=True, kw_only=True):
    tools: list[ToolInfo]


class AuthorizationUrl(msgspec.Struct, frozen=True, kw_only=True):
    authorization_url: str


class Status(msgspec.Struct, frozen=True, kw_only=True):
    status: str


class ErrorDetail(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    message: str


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True):
    error: ErrorDetail
