"""Which tool calls run at once, which ask the user first, which tools are never offered.

A config's `tool_approval` says it for every tool, `tool_policies` for one tool by the server's
own name and wins. `writes` asks before any tool whose annotations do not say `readOnlyHint:
true`: annotations are what the server says of its tools, hints rather than facts, so a server
that marks a deleting tool read-only is only stopped by a policy of the user's. A `deny` is
never overridden by a hint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import msgspec

from faceplate.structs import ToolApproval, ToolPolicy


class Policies(msgspec.Struct, frozen=True, kw_only=True):
    """A config's approval settings."""

    tool_approval: ToolApproval = "never"
    tool_policies: Mapping[str, ToolPolicy] = {}


def tool_policy(policies: Policies, tool: str, annotations: Mapping[str, Any] | None) -> ToolPolicy:
    """The policy in effect for one tool of a config."""
    explicit = policies.tool_policies.get(tool)
    if explicit is not None:
        return explicit
    if policies.tool_approval == "never":
        return "allow"
    if policies.tool_approval == "always":
        return "ask"
    read_only = annotations is not None and annotations.get("readOnlyHint") is True
    return "allow" if read_only else "ask"


class ApprovalNeeded(msgspec.Struct, frozen=True, kw_only=True):
    """A call that waits for the user: its config, the server's tool name and its hints."""

    config_id: UUID
    tool: str
    annotations: dict[str, Any] | None
