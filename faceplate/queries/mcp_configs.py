"""Queries of sql/mcp_configs/."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final
from uuid import UUID

import asyncpg
import msgspec

from faceplate.db import Conn, rowcount, without_nul
from faceplate.errors import Conflict
from faceplate.sql import QUERIES
from faceplate.structs import McpConfig, McpServerConfig, SealedConfig, ToolApproval, ToolPolicy

_CREATE: Final = QUERIES["create_mcp_config"].text
_GET: Final = QUERIES["get_mcp_config"].text
_LIST: Final = QUERIES["list_mcp_configs"].text
_LIST_ENABLED: Final = QUERIES["list_enabled_mcp_configs"].text
_UPDATE: Final = QUERIES["update_mcp_config"].text
_DELETE: Final = QUERIES["delete_mcp_config"].text
_LIST_SEALED: Final = QUERIES["list_sealed_mcp_configs"].text
_UPDATE_SECRETS: Final = QUERIES["update_mcp_config_secrets"].text
_UPDATE_TOOL_POLICY: Final = QUERIES["update_mcp_config_tool_policy"].text

_NAME_TAKEN: Final = "an MCP config with this name already exists"


@contextmanager
def _name_taken_is_conflict() -> Iterator[None]:
    """mcp_configs_user_name_key violations become Conflict; other errors pass unchanged."""
    try:
        yield
    except asyncpg.UniqueViolationError as e:
        if e.constraint_name == "mcp_configs_user_name_key":
            raise Conflict(_NAME_TAKEN) from e
        raise


async def create_mcp_config(
    conn: Conn,
    *,
    id: UUID,
    user_id: UUID,
    name: str,
    config: McpServerConfig,
    enabled: bool,
    max_configs: int,
    tool_approval: ToolApproval,
    tool_policies: dict[str, ToolPolicy],
) -> McpConfig | None:
    """sql/mcp_configs/create_mcp_config.sql; None at max_configs, Conflict on a taken name."""
    with _name_taken_is_conflict():
        row = await conn.fetchrow(
            _CREATE,
            id,
            user_id,
            without_nul(name),
            config,
            enabled,
            max_configs,
            tool_approval,
            tool_policies,
        )
    return None if row is None else msgspec.convert(dict(row), McpConfig)


async def get_mcp_config(conn: Conn, *, user_id: UUID, config_id: UUID) -> McpConfig | None:
    """sql/mcp_configs/get_mcp_config.sql"""
    row = await conn.fetchrow(_GET, user_id, config_id)
    return None if row is None else msgspec.convert(dict(row), McpConfig)


async def list_mcp_configs(
    conn: Conn, *, user_id: UUID, after_name: str | None, limit: int
) -> list[McpConfig]:
    """sql/mcp_configs/list_mcp_configs.sql"""
    rows = await conn.fetch(_LIST, user_id, after_name, limit)
    return [msgspec.convert(dict(r), McpConfig) for r in rows]


async def list_enabled_mcp_configs(conn: Conn, *, user_id: UUID) -> list[McpConfig]:
    """sql/mcp_configs/list_enabled_mcp_configs.sql"""
    rows = await conn.fetch(_LIST_ENABLED, user_id)
    return [msgspec.convert(dict(r), McpConfig) for r in rows]


async def update_mcp_config(
    conn: Conn,
    *,
    user_id: UUID,
    config_id: UUID,
    name: str,
    config: McpServerConfig,
    enabled: bool,
    tool_approval: ToolApproval,
    tool_policies: dict[str, ToolPolicy],
) -> McpConfig | None:
    """sql/mcp_configs/update_mcp_config.sql; raises Conflict on a taken name."""
    with _name_taken_is_conflict():
        row = await conn.fetchrow(
            _UPDATE,
            user_id,
            config_id,
            without_nul(name),
            config,
            enabled,
            tool_approval,
            tool_policies,
        )
    return None if row is None else msgspec.convert(dict(row), McpConfig)


async def delete_mcp_config(conn: Conn, *, user_id: UUID, config_id: UUID) -> int:
    """sql/mcp_configs/delete_mcp_config.sql"""
    return rowcount(await conn.execute(_DELETE, user_id, config_id))


async def list_sealed_mcp_configs(
    conn: Conn, *, after_id: UUID | None, limit: int
) -> list[SealedConfig]:
    """sql/mcp_configs/list_sealed_mcp_configs.sql"""
    rows = await conn.fetch(_LIST_SEALED, after_id, limit)
    return [msgspec.convert(dict(r), SealedConfig) for r in rows]


async def update_mcp_config_secrets(
    conn: Conn, *, config_id: UUID, read_config: McpServerConfig, config: McpServerConfig
) -> int:
    """sql/mcp_configs/update_mcp_config_secrets.sql"""
    return rowcount(await conn.execute(_UPDATE_SECRETS, config_id, read_config, config))


async def update_mcp_config_tool_policy(
    conn: Conn, *, user_id: UUID, config_id: UUID, tool: str, policy: ToolPolicy
) -> int:
    """sql/mcp_configs/update_mcp_config_tool_policy.sql"""
    return rowcount(
        await conn.execute(_UPDATE_TOOL_POLICY, user_id, config_id, without_nul(tool), policy)
    )
