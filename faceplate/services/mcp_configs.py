"""MCP server configs: secrets sealed at rest, redacted on the way out, checked on the way in;
their live tools, and the tools each turn offers from a user's enabled configs."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Final
from uuid import UUID

import msgspec
from uuid6 import uuid7

from faceplate.api.pages import CursorCodec, Page, page_of
from faceplate.api.schemas import CreateMcpConfig, PatchMcpConfig, ToolInfo, ToolList
from faceplate.db import Database
from faceplate.errors import NotFound
from faceplate.mcp_client.addresses import check_url_async
from faceplate.mcp_client.catalog import ListingFailures, McpToolSource, ToolSource
from faceplate.mcp_client.errors import ToolUnavailable
from faceplate.mcp_client.oauth.flow import OAuthFlow
from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.mcp_client.stdio.servers import StdioServers, stdio_refused
from faceplate.queries import mcp_configs as q
from faceplate.secrets import SecretBox, keep_redacted, redact
from faceplate.structs import (
    HttpConfig,
    McpConfig,
    McpServerConfig,
    OAuthState,
    OAuthStatusRow,
    SseConfig,
    StdioConfig,
    User,
)

_NOT_FOUND: Final = "MCP config not found"
_CURSOR: Final = CursorCodec(str)
LIST_TIMEOUT_S: Final = 10.0
"""How long `live_tools` waits for a server (the contract's bound)."""


class McpConfigs:
    """Owner-scoped CRUD of MCP configs, their live tools, and the tools of each turn.

    A changed or deleted config's sessions are closed at once. Each config shows its OAuth
    state; one re-pointed (another URL or transport) or deleted has its tokens forgotten
    (revoked where the server allows), as they were granted for the old server.
    """

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        sessions: McpSessionManager,
        *,
        stdio_servers: StdioServers | None,
        allow_private: bool,
        tool_timeout_s: float,
        oauth: OAuthFlow | None = None,
    ) -> None:
        self._db = db
        self._oauth = oauth
        self._box = box
        self._sessions = sessions
        self._stdio_servers = stdio_servers
        self._allow_private = allow_private
        self._tool_timeout_s = tool_timeout_s
        self._failures = ListingFailures()

    async def _check(self, config: McpServerConfig) -> None:
        if isinstance(config, StdioConfig):
            if self._stdio_servers is None:
                raise stdio_refused()
            self._stdio_servers.match(config)
        else:
            # A name that does not resolve today is checked again on every connect.
            with contextlib.suppress(ToolUnavailable):
                await check_url_async(config.url, allow_private=self._allow_private)

    def _shown(self, row: McpConfig, oauth: OAuthStatusRow | None = None) -> McpConfig:
        state = None
        if oauth is not None:
            state = OAuthState(
                status=oauth.status, scopes=oauth.scopes, expires_at=oauth.expires_at
            )
        return msgspec.structs.replace(row, config=redact(row.config), oauth=state)

    async def _shown_all(self, user: User, rows: Sequence[McpConfig]) -> list[McpConfig]:
        """The rows as clients see them: secrets redacted, each with its OAuth state."""
        statuses = {}
        if self._oauth is not None:
            statuses = await self._oauth.statuses(user.id, [r.id for r in rows])
        return [self._shown(r, statuses.get(r.id)) for r in rows]

    async def create(self, user: User, body: CreateMcpConfig) -> McpConfig:
        """A new config; Invalid for a refused command or address, Conflict on a taken name."""
        await self._check(body.config)
        async with self._db.connection() as conn:
            row = await q.create_mcp_config(
                conn,
                id=uuid7(),
                user_id=user.id,
                name=body.name,
                config=self._box.seal(body.config),
                enabled=body.enabled,
            )
        return self._shown(row)

    async def get(self, user: User, config_id: UUID) -> McpConfig:
        """The user's config, redacted; NotFound if not theirs."""
        (shown,) = await self._shown_all(user, [await self.get_sealed(user, config_id)])
        return shown

    async def get_sealed(self, user: User, config_id: UUID) -> McpConfig:
        async with self._db.connection() as conn:
            row = await q.get_mcp_config(conn, user_id=user.id, config_id=config_id)
        if row is None:
            raise NotFound(_NOT_FOUND)
        return row

    async def get_clear(self, user: User, config_id: UUID) -> McpConfig:
        """The user's config with its secrets in clear, for connecting; NotFound if not theirs."""
        row = await self.get_sealed(user, config_id)
        return msgspec.structs.replace(row, config=self._box.open(row.config))

    async def enabled_clear(self, user: User) -> list[McpConfig]:
        """Every enabled config of the user, secrets in clear: the tool servers of a turn."""
        async with self._db.connection() as conn:
            rows = await q.list_enabled_mcp_configs(conn, user_id=user.id)
        return [msgspec.structs.replace(r, config=self._box.open(r.config)) for r in rows]

    async def page(self, user: User, limit: int, cursor: str | None) -> Page[McpConfig]:
        """A page of the user's configs by name, redacted."""
        after = _CURSOR.decode(cursor)
        async with self._db.connection() as conn:
            rows = await q.list_mcp_configs(
                conn, user_id=user.id, after_name=after, limit=limit + 1
            )
        page = page_of(rows, limit, lambda c: c.name)
        return Page(items=await self._shown_all(user, page.items), next_cursor=page.next_cursor)

    async def update(self, user: User, config_id: UUID, body: PatchMcpConfig) -> McpConfig:
        """Change any of name, config, enabled; "********" keeps a stored secret value."""
        current = await self.get_clear(user, config_id)
        config = current.config
        if not isinstance(body.config, msgspec.UnsetType):
            config = keep_redacted(body.config, current.config)
            await self._check(config)
        async with self._db.connection() as conn:
            row = await q.update_mcp_config(
                conn,
                user_id=user.id,
                config_id=config_id,
                name=current.name if isinstance(body.name, msgspec.UnsetType) else body.name,
                config=self._box.seal(config),
                enabled=(
                    current.enabled if isinstance(body.enabled, msgspec.UnsetType) else body.enabled
                ),
            )
        if row is None:
            raise NotFound(_NOT_FOUND)
        await self._sessions.close_config(config_id)
        if self._oauth is not None and _repointed(current.config, config):
            await self._oauth.forget(user.id, config_id)
        (shown,) = await self._shown_all(user, [row])
        return shown

    async def delete(self, user: User, config_id: UUID) -> None:
        """Delete the config; NotFound if not the user's."""
        if self._oauth is not None:
            await self._oauth.forget(user.id, config_id)  # revoked before the row goes
        async with self._db.connection() as conn:
            deleted = await q.delete_mcp_config(conn, user_id=user.id, config_id=config_id)
        if not deleted:
            raise NotFound(_NOT_FOUND)
        await self._sessions.close_config(config_id)

    async def live_tools(self, user: User, config_id: UUID) -> ToolList:
        """The server's tools under its own names; ToolUnavailable (502) if it cannot answer
        within LIST_TIMEOUT_S, AuthorizationRequired (424) if it needs the user's authorization."""
        config = await self.get_clear(user, config_id)
        specs = await self._sessions.list_tools(
            user.id, config.id, config.config, timeout_s=LIST_TIMEOUT_S
        )
        return ToolList(
            tools=[
                ToolInfo(name=s.name, description=s.description, input_schema=s.input_schema)
                for s in specs
            ]
        )

    async def tool_source(self, user: User) -> ToolSource:
        """The tools of one turn: the user's enabled configs as they are when it starts. A config
        whose listing failed lately is skipped for a while (ListingFailures)."""
        enabled = await self.enabled_clear(user)
        entries = [(config.id, config.name, config.config) for config in enabled]
        return McpToolSource(
            self._sessions,
            user.id,
            entries,
            timeout_s=self._tool_timeout_s,
            failures=self._failures,
        )


def _repointed(old: McpServerConfig, new: McpServerConfig) -> bool:
    """Another transport or URL: a grant for the old server is not one for the new."""
    if isinstance(old, HttpConfig | SseConfig) and isinstance(new, HttpConfig | SseConfig):
        return type(old) is not type(new) or old.url != new.url
    return type(old) is not type(new)
