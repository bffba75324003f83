"""MCP server configs: secrets sealed at rest, redacted on the way out, checked on the way in;
their live tools, and the tools each turn offers from a user's enabled configs."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Final, TypeVar
from uuid import UUID

import msgspec
from uuid6 import uuid7

from faceplate.api.pages import CursorCodec, Page, page_of
from faceplate.api.schemas import CreateMcpConfig, PatchMcpConfig, ToolInfo, ToolList
from faceplate.db import Database
from faceplate.errors import Conflict, Invalid, NotFound
from faceplate.logs import security
from faceplate.mcp_client.addresses import check_url_async
from faceplate.mcp_client.catalog import (
    ConfigEntry,
    ListingFailures,
    McpToolSource,
    ToolSource,
    Unusable,
)
from faceplate.mcp_client.errors import ToolUnavailable
from faceplate.mcp_client.naming import config_slugs, tool_model_names
from faceplate.mcp_client.oauth.flow import OAuthFlow
from faceplate.mcp_client.policy import Policies, tool_policy
from faceplate.mcp_client.sessions import McpSessionManager
from faceplate.mcp_client.stdio.servers import StdioServers, stdio_refused
from faceplate.queries import mcp_configs as q
from faceplate.queries import users as users_q
from faceplate.secrets import SecretBox, UnreadableSecrets, keep_redacted, redact
from faceplate.structs import (
    HttpConfig,
    McpConfig,
    McpServerConfig,
    OAuthState,
    OAuthStatusRow,
    SseConfig,
    StdioConfig,
    ToolApproval,
    ToolPolicy,
    User,
)

_log = logging.getLogger(__name__)

_NOT_FOUND: Final = "MCP config not found"
_CURSOR: Final = CursorCodec(str)
LIST_TIMEOUT_S: Final = 10.0
"""How long `live_tools` waits for a server (the contract's bound)."""


class McpConfigs:
    """Owner-scoped CRUD of MCP configs, their live tools, and the tools of each turn.

    A changed or deleted config's sessions are closed at once. Each config shows its OAuth
    state; one re-pointed (another URL or transport) or deleted has its tokens forgotten
    (revoked where the server allows), as they were granted for the old server. A user has at
    most `max_configs` configs, counted under a lock on their row, so it holds across
    instances. A config with a stored secret that no key decrypts is unusable until the value
    is sent again: turns leave it out, its live tools are a Conflict naming the value.
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
        max_configs: int = 50,
        approval_default: ToolApproval = "never",
    ) -> None:
        self._max_configs = max_configs
        self._approval_default = approval_default
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

    async def _checked(self, user: User, config: McpServerConfig) -> None:
        """`_check`, a refusal logged in the security log."""
        try:
            await self._check(config)
        except Invalid as e:
            security("mcp_config_refused", e.message, user_id=user.id)
            raise

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
        """A new config; Invalid for a refused command or address, Conflict on a taken name
        or past `max_configs`. Opens a transaction."""
        await self._checked(user, body.config)
        async with self._db.connection() as conn, conn.transaction():
            # Its own statement first: the insert's snapshot then sees every config committed
            # before the lock was granted (see sql/users/lock_user.sql).
            await users_q.lock_user(conn, user_id=user.id)
            row = await q.create_mcp_config(
                conn,
                id=uuid7(),
                user_id=user.id,
                name=body.name,
                config=self._box.seal(body.config),
                enabled=body.enabled,
                max_configs=self._max_configs,
                tool_approval=(
                    self._approval_default
                    if isinstance(body.tool_approval, msgspec.UnsetType)
                    else body.tool_approval
                ),
                tool_policies=body.tool_policies,
            )
        if row is None:
            security("rate_limited", f"at {self._max_configs} MCP configs", user_id=user.id)
            raise Conflict(f"at most {self._max_configs} MCP configs per user")
        _changed("created", user, row)
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
        """The user's config with its secrets in clear, for connecting; NotFound if not theirs,
        Conflict (naming the value) if a stored secret cannot be decrypted."""
        row = await self.get_sealed(user, config_id)
        try:
            return msgspec.structs.replace(row, config=self._box.open(row.config))
        except UnreadableSecrets as e:
            _log.warning("MCP config %s cannot be used: %s", row.id, e.reason)
            raise Conflict(f"MCP config {row.name!r} cannot be used: {e.reason}") from None

    async def _enabled(self, user: User) -> list[McpConfig]:
        """The user's enabled configs as stored, oldest first (the order slugs are given in)."""
        async with self._db.connection() as conn:
            rows = await q.list_enabled_mcp_configs(conn, user_id=user.id)
        return sorted(rows, key=lambda r: (r.created_at, r.id))

    async def enabled_clear(self, user: User) -> list[ConfigEntry]:
        """Every enabled config of the user, oldest first, secrets in clear (or Unusable, with
        why, logged): the tool servers of a turn."""
        return _entries(await self._enabled(user), self._box)

    async def set_tool_policy(
        self, user_id: UUID, config_id: UUID, tool: str, policy: ToolPolicy
    ) -> bool:
        """Store one tool's policy (a remembered answer); False if the config is not theirs."""
        async with self._db.connection() as conn:
            changed = await q.update_mcp_config_tool_policy(
                conn, user_id=user_id, config_id=config_id, tool=tool, policy=policy
            )
        return changed == 1

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
        """Change any of name, config, enabled; "********" keeps a stored secret value unless
        the config is re-pointed or the value cannot be decrypted (then Invalid, naming it)."""
        current = await self.get_sealed(user, config_id)
        sealed = current.config  # kept as stored when the PATCH does not touch the config
        if not isinstance(body.config, msgspec.UnsetType):
            readable, unreadable = self._box.open_readable(current.config)
            try:
                config = keep_redacted(body.config, readable, unreadable=unreadable)
            except Invalid as e:
                security("mcp_config_refused", e.message, user_id=user.id)
                raise
            await self._checked(user, config)
            sealed = self._box.seal(config)
        async with self._db.connection() as conn:
            row = await q.update_mcp_config(
                conn,
                user_id=user.id,
                config_id=config_id,
                name=current.name if isinstance(body.name, msgspec.UnsetType) else body.name,
                config=sealed,
                enabled=(
                    current.enabled if isinstance(body.enabled, msgspec.UnsetType) else body.enabled
                ),
                tool_approval=_or(body.tool_approval, current.tool_approval),
                tool_policies=_or(body.tool_policies, current.tool_policies),
            )
        if row is None:
            raise NotFound(_NOT_FOUND)
        if not _only_policies(body):  # a policy changes no connection, nor a call in flight
            await self._sessions.close_config(config_id)
        moved = not isinstance(body.config, msgspec.UnsetType) and _repointed(
            current.config, body.config
        )
        if self._oauth is not None and moved:
            await self._oauth.forget(user.id, config_id)
        _changed("changed", user, row)
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
        security(
            "mcp_config_deleted",
            f"MCP config {config_id}",
            user_id=user.id,
            level=logging.INFO,
            config_id=str(config_id),
        )

    async def live_tools(self, user: User, config_id: UUID) -> ToolList:
        """The server's tools under its own names, each with the name the model calls it by
        (None while the config is disabled); ToolUnavailable (502) if it cannot answer within
        LIST_TIMEOUT_S, AuthorizationRequired (424) if it needs the user's authorization,
        Conflict if a stored secret cannot be decrypted."""
        config = await self.get_clear(user, config_id)
        specs = await self._sessions.list_tools(
            user.id, config.id, config.config, timeout_s=LIST_TIMEOUT_S
        )
        names: Sequence[str | None] = [None] * len(specs)
        policies = _policies(config)
        effective = [tool_policy(policies, spec.name, spec.annotations) for spec in specs]
        if config.enabled:
            enabled = await self._enabled(user)
            slugs = dict(
                zip([r.id for r in enabled], config_slugs([r.name for r in enabled]), strict=True)
            )
            if config.id in slugs:  # unless disabled meanwhile
                names = tool_model_names(slugs[config.id], [spec.name for spec in specs])
        return ToolList(
            tools=[
                ToolInfo(
                    name=spec.name,
                    model_name=None if policy == "deny" else model_name,
                    description=spec.description,
                    input_schema=spec.input_schema,
                    annotations=spec.annotations,
                    policy=policy,
                )
                for spec, model_name, policy in zip(specs, names, effective, strict=True)
            ]
        )

    async def tool_source(self, user: User) -> ToolSource:
        """The tools of one turn: the user's enabled configs as they are when it starts, with
        their policies. A config whose listing failed lately is skipped for a while
        (ListingFailures)."""
        rows = await self._enabled(user)
        return McpToolSource(
            self._sessions,
            user.id,
            _entries(rows, self._box),
            timeout_s=self._tool_timeout_s,
            failures=self._failures,
            policies={row.id: _policies(row) for row in rows},
        )


def _entries(rows: Sequence[McpConfig], box: SecretBox) -> list[ConfigEntry]:
    """Each config with its secrets in clear, or Unusable (with why, logged)."""
    entries: list[ConfigEntry] = []
    for row in rows:
        try:
            entries.append((row.id, row.name, box.open(row.config)))
        except UnreadableSecrets as e:
            _log.warning("MCP config %s left out of a turn: %s", row.id, e.reason)
            entries.append((row.id, row.name, Unusable(e.reason)))
    return entries


def _policies(row: McpConfig) -> Policies:
    return Policies(tool_approval=row.tool_approval, tool_policies=row.tool_policies)


_T = TypeVar("_T")


def _or(value: _T | msgspec.UnsetType, current: _T) -> _T:
    return current if isinstance(value, msgspec.UnsetType) else value


def _only_policies(body: PatchMcpConfig) -> bool:
    """The PATCH changes nothing but tool_approval and tool_policies."""
    return all(
        isinstance(value, msgspec.UnsetType) for value in (body.name, body.config, body.enabled)
    )


def _repointed(old: McpServerConfig, new: McpServerConfig) -> bool:
    """Another transport or URL: a grant for the old server is not one for the new."""
    if isinstance(old, HttpConfig | SseConfig) and isinstance(new, HttpConfig | SseConfig):
        return type(old) is not type(new) or old.url != new.url
    return type(old) is not type(new)


def _changed(what: str, user: User, row: McpConfig) -> None:
    """A config change in the security log: which config, its name and where it points."""
    config = row.config
    target = config.command if isinstance(config, StdioConfig) else _origin(config.url)
    security(
        f"mcp_config_{what}",
        f"MCP config {row.id} ({config.__struct_config__.tag} {target})",
        user_id=user.id,
        level=logging.INFO,
        config_id=str(row.id),
        enabled=int(row.enabled),
    )


def _origin(url: str) -> str:
    """scheme://host:port of a URL: where it points, without a path or query that may hold
    a secret."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}"
