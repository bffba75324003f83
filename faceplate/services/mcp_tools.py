"""The live tools of one MCP config, straight from its server."""

from __future__ import annotations

from typing import Final
from uuid import UUID

from faceplate.api.schemas import ToolInfo, ToolList
from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.services.mcp_configs import McpConfigs
from faceplate.structs import User

LIST_TIMEOUT_S: Final = 10.0


async def live_tools(
    configs: McpConfigs, sessions: McpSessionManager, user: User, config_id: UUID
) -> ToolList:
    """The server's tools under its own names; ToolUnavailable (502) if it cannot answer in 10 s."""
    config = await configs.get_clear(user, config_id)
    specs = await sessions.list_tools(user.id, config.id, config.config, timeout_s=LIST_TIMEOUT_S)
    return ToolList(
        tools=[
            ToolInfo(name=s.name, description=s.description, input_schema=s.input_schema)
            for s in specs
        ]
    )
