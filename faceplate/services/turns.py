"""What the app gives its turns: the tools of each user's enabled MCP configs."""

from __future__ import annotations

from faceplate.mcp_client.catalog import ListingFailures, McpToolSource, ToolSource
from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.services.mcp_configs import McpConfigs
from faceplate.structs import User
from faceplate.turns.tools import ToolSourceFactory


def mcp_tool_sources(
    configs: McpConfigs, sessions: McpSessionManager, *, timeout_s: float
) -> ToolSourceFactory:
    """Builds, per turn, the tools of the user's enabled MCP configs (read when the turn starts)."""

    failures = ListingFailures()

    async def for_user(user: User) -> ToolSource:
        enabled = await configs.enabled_clear(user)
        entries = [(config.id, config.name, config.config) for config in enabled]
        return McpToolSource(sessions, user.id, entries, timeout_s=timeout_s, failures=failures)

    return for_user
