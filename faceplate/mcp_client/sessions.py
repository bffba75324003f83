"""Live MCP sessions, one per (user, config, config version), reused across turns."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Final, Self, TypeVar
from uuid import UUID

import mcp_types as types
import msgspec
from mcp.client import Client
from mcp.shared.exceptions import MCPError

from faceplate.agents.base import ToolSpec
from faceplate.mcp_client import asking
from faceplate.mcp_client.bounds import watching
from faceplate.mcp_client.connection import Connection
from faceplate.mcp_client.errors import ToolError, ToolUnavailable
from faceplate.mcp_client.oauth.bearer import OAuthBearer
from faceplate.mcp_client.oauth.errors import AuthorizationRequired
from faceplate.mcp_client.oauth.flow import OAuthFlow, may_authorize
from faceplate.mcp_client.results import describe_failure, error_result, tool_result
from faceplate.mcp_client.stdio.caps import Live, make_room
from faceplate.mcp_client.stdio.runtime import StdioRuntime
from faceplate.mcp_client.transports import ConnectPolicy
from faceplate.structs import McpServerConfig, StdioConfig, ToolResult

_log = logging.getLogger(__name__)

T = TypeVar("T")
SessionKey = tuple[UUID, UUID, str]

_FINGERPRINT: Final = msgspec.json.Encoder(order="sorted")
_SIZE: Final = msgspec.json.Encoder()
_LIST_PAGES_MAX: Final = 100
MAX_SCHEMA_BYTES: Final = 64 * 1024
"""A tool whose input schema is larger (as JSON) is not offered."""
MAX_DESCRIPTION_CHARS: Final = 8192
"""A tool's description is cut to this many characters."""
# What a streamable HTTP server (or the SDK for a bare 404) answers when it no longer knows the
# session, having restarted or expired it: the request did not run, so resending it is safe.
_SESSION_GONE: Final = frozenset({"session not found", "session terminated"})


def fingerprint(config: McpServerConfig) -> str:
    """A digest of everything in a config, so an edited config gets a new connection."""
    return hashlib.sha256(_FINGERPRINT.encode(config)).hexdigest()


class McpSessionManager:
    """Live MCP sessions of every user; one per app, entered (or `aclose`d) in its lifespan.

    Each connection belongs to a runner task that opens and closes it, so a hanging server only
    holds its own callers. Idle sessions close after `idle_timeout_s`. stdio servers run as
    `stdio` says (None: refused), at most `stdio_max_per_user` per user and `stdio_max_total`
    in all at once. A server's listing offers at most `max_tools` tools (none whose schema is
    over MAX_SCHEMA_BYTES); a tool result is cut to `max_result_bytes`.

    With `oauth`, every HTTP request of an HTTP or SSE config carries the config's access token
    (when it has one), and a server that refuses to serve without one raises
    AuthorizationRequired, the config then marked `needs_authorization`.
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        stdio: StdioRuntime | None = None,
        stdio_max_per_user: int = 8,
        stdio_max_total: int = 64,
        idle_timeout_s: float = 300.0,
        connect_timeout_s: float = 30.0,
        oauth: OAuthFlow | None = None,
        max_result_bytes: int = 1_048_576,
        max_tools: int = 128,
    ) -> None:
        self._policy = ConnectPolicy(allow_private=allow_private, stdio=stdio)
        self._stdio_max_per_user = stdio_max_per_user
        self._stdio_max_total = stdio_max_total
        self._oauth = oauth
        self._max_result_bytes = max_result_bytes
        self._max_tools = max_tools
        self._idle_timeout_s = idle_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._connections: dict[SessionKey, Connection] = {}
        self._closing: set[Connection] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection and wait until they, and their processes, are gone."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.wait({self._sweeper})
        for connection in list(self._connections.values()):
            self._discard(connection)
        await asyncio.gather(*(s.wait_closed() for s in list(self._closing)))

    async def close_config(self, config_id: UUID) -> None:
        """Close the sessions of a changed or deleted config at once; calls in flight fail."""
        doomed = [s for key, s in self._connections.items() if key[1] == config_id]
        for connection in doomed:
            self._discard(connection)
        await asyncio.gather(*(s.wait_closed() for s in doomed))

    async def list_tools(
        self,
        user_id: UUID,
        config_id: UUID,
        config: McpServerConfig,
        *,
        timeout_s: float = 10.0,
    ) -> list[ToolSpec]:
        """The server's tools under its own names, at most `max_tools` of them (a tool whose
        schema is too large left out, with a log line); raises ToolUnavailable on any failure,
        and AuthorizationRequired when the user must authorize Faceplate first.

        The listing is kept with the session and answered again without asking the server
        until the server says its tools changed, the config changes or the session is reopened.
        """
        kept = self._kept_tools(user_id, config_id, config)
        if kept is not None:
            if self._oauth is not None and may_authorize(config):
                await self._oauth.tokens.current(user_id, config_id)  # needs authorization?
            return kept
        listed: list[ToolSpec] | None = None

        async def listing(connection: Connection, client: Client) -> list[types.Tool]:
            nonlocal listed
            changes = connection.tools_changes
            tools = await _list_bounded(client, config_id, self._max_tools)
            listed = _specs(tools)
            connection.remember_tools(listed, changes)
            return tools

        try:
            async with asyncio.timeout(timeout_s) as deadline:
                tools = await self._use(user_id, config_id, config, listing, idempotent=True)
        except TimeoutError as exc:
            if deadline.expired():
                raise ToolUnavailable(f"MCP server did not answer within {timeout_s:g} s") from exc
            raise ToolUnavailable(describe_failure(exc)) from exc
        except (ToolUnavailable, AuthorizationRequired):
            raise
        except Exception as exc:
            raise ToolUnavailable(describe_failure(exc)) from exc
        return listed if listed is not None else _specs(tools)

    def _kept_tools(
        self, user_id: UUID, config_id: UUID, config: McpServerConfig
    ) -> list[ToolSpec] | None:
        """The listing the live session of this config version keeps, if it has one.

        A session signed in with OAuth (its requests carry an access token) keeps none: only
        the server can tell that its grant was revoked, so each turn asks it again and a 401 is
        reported before the model is offered tools it can no longer call. A session without a
        token keeps its listing like any other.
        """
        connection = self._connections.get((user_id, config_id, fingerprint(config)))
        if connection is None or not connection.usable:
            return None
        if isinstance(connection.auth, OAuthBearer) and connection.auth.bearing:
            return None
        return connection.tools

    async def call_tool(
        self,
        user_id: UUID,
        config_id: UUID,
        config: McpServerConfig,
        tool_name: str,
        arguments: dict[str, Any],
        *,
        tool_call_id: str,
        display_name: str,
        timeout_s: float,
        on_authorization_required: Callable[[], None] | None = None,
    ) -> ToolResult:
        """Call a tool by the server's name; every failure becomes an error ToolResult.

        Only cancellation propagates: the request is abandoned and the server told so. When the
        server needs authorization, `on_authorization_required` is called too.
        """
        started = time.monotonic()
        asker = asking.current()
        if asker is not None:
            started -= asker.waited_s  # only what is waited from now on is taken off

        async def call(connection: Connection, client: Client) -> types.CallToolResult:
            return await client.call_tool(tool_name, arguments)

        try:
            async with asyncio.timeout(timeout_s) as deadline:
                with contextlib.nullcontext() if asker is None else asker.deadline(deadline):
                    result = await self._use(user_id, config_id, config, call, idempotent=False)
        except TimeoutError as exc:
            expired = deadline.expired()
            message = f"tool timed out after {timeout_s:g} s" if expired else describe_failure(exc)
        except AuthorizationRequired as exc:
            if on_authorization_required is not None:
                on_authorization_required()
            message = exc.message
        except Exception as exc:
            if not isinstance(exc, ToolError | MCPError):
                _log.warning("MCP tool call failed (config %s)", config_id, exc_info=True)
            message = describe_failure(exc)
        else:
            duration_ms = _ms_since(started, asker)
            return tool_result(
                result,
                tool_call_id=tool_call_id,
                name=display_name,
                duration_ms=duration_ms,
                max_bytes=self._max_result_bytes,
            )
        duration_ms = _ms_since(started, asker)
        return error_result(
            message, tool_call_id=tool_call_id, name=display_name, duration_ms=duration_ms
        )

    async def _use(
        self,
        user_id: UUID,
        config_id: UUID,
        config: McpServerConfig,
        op: Callable[[Connection, Client], Awaitable[T]],
        *,
        idempotent: bool,
    ) -> T:
        """Run `op` on the live connection, opening it if needed; once more if it had gone.

        An answer over the byte caps (`bounds`) raises ToolUnavailable naming the size.
        """
        key = (user_id, config_id, fingerprint(config))
        oauth = self._oauth if self._oauth is not None and may_authorize(config) else None
        if oauth is not None:
            # Before any connection: a config known to need authorization costs no request, and
            # a token near its expiry is refreshed once here rather than by each request.
            await oauth.tokens.current(user_id, config_id)
        for attempt in range(2):
            if isinstance(config, StdioConfig):
                await self._admit_stdio(key)
            connection = self._connection(key, config, oauth)
            connection.in_flight += 1
            try:
                with watching() as overflow, connection.calling(asking.current()):
                    return await op(connection, await connection.connected())
            except ToolError:
                await self._check_authorization(connection, key, config)
                raise
            except MCPError as exc:
                await self._check_authorization(connection, key, config)
                gone = exc.message.strip(" .").lower() in _SESSION_GONE
                lost = exc.code == types.CONNECTION_CLOSED
                refused = overflow.reason or (connection.overflow.reason if lost else None)
                if refused is not None:
                    _log.warning("answer of MCP config %s refused: %s", config_id, refused)
                    if lost:
                        self._discard(connection)
                    raise ToolUnavailable(refused) from exc
                if gone or lost:
                    self._discard(connection)
                if attempt == 0 and (gone or (lost and idempotent)):
                    _log.info("MCP connection of config %s had gone; reconnecting", config_id)
                    continue
                if lost and connection.lost_reason is not None:
                    raise ToolUnavailable(connection.lost_reason) from exc
                raise
            finally:
                connection.in_flight -= 1
                connection.last_used = time.monotonic()
        raise AssertionError("unreachable")

    async def _check_authorization(
        self, connection: Connection, key: SessionKey, config: McpServerConfig
    ) -> None:
        """Raise AuthorizationRequired (after discovery) if the failure was the server's 401."""
        bearer = connection.auth
        if self._oauth is None or not isinstance(bearer, OAuthBearer):
            return
        if not bearer.needs_authorization:
            return
        self._discard(connection)
        raise await self._oauth.challenged(key[0], key[1], config, bearer.challenge, bearer.version)

    def _connection(
        self, key: SessionKey, config: McpServerConfig, oauth: OAuthFlow | None = None
    ) -> Connection:
        if self._closed:
            raise ToolUnavailable("MCP sessions are shutting down")
        connection = self._connections.get(key)
        if connection is not None and connection.usable:
            return connection
        if connection is not None:
            self._discard(connection)
        bearer = None if oauth is None else OAuthBearer(oauth.tokens, key[0], key[1])
        connection = Connection(
            key[1], config, self._policy, self._connect_timeout_s, user_id=key[0], auth=bearer
        )
        self._connections[key] = connection
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="mcp-session-sweeper")
        return connection

    async def _admit_stdio(self, key: SessionKey) -> None:
        """Room for this key's stdio process, unless it runs already: closes idle ones at a cap
        (and waits until they are gone); ToolUnavailable when every one is busy."""
        while True:
            current = self._connections.get(key)
            if current is not None and current.usable:
                return
            for connection in list(self._connections.values()):
                if connection.stdio and not connection.usable:
                    self._discard(connection)
            live = [
                Live(c, c.user_id, c.in_flight == 0, c in self._closing, c.last_used)
                for c in {*self._connections.values(), *self._closing}
                if c.stdio and not c.finished
            ]
            room = make_room(
                key[0], live, per_user=self._stdio_max_per_user, total=self._stdio_max_total
            )
            if room is None:
                return
            for connection in room.close:
                _log.info("closing an idle stdio MCP server to make room for another")
                self._discard(connection)
            await asyncio.gather(*(c.wait_closed() for c in room.wait))

    def _discard(self, connection: Connection) -> None:
        """Forget a connection and close it; `aclose` still waits for it to be gone."""
        for key, known in list(self._connections.items()):
            if known is connection:
                del self._connections[key]
        if connection not in self._closing:
            self._closing.add(connection)
            connection.close()
            connection.on_closed(self._closing.discard)

    async def _sweep(self) -> None:
        interval = min(max(self._idle_timeout_s / 4, 0.05), 30.0)
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for connection in list(self._connections.values()):
                if connection.in_flight:
                    continue
                if connection.ended or now - connection.last_used > self._idle_timeout_s:
                    self._discard(connection)


async def _list_bounded(client: Client, config_id: UUID, max_tools: int) -> list[types.Tool]:
    """The server's tools, page by page, until `max_tools` are kept: a tool whose schema is
    over MAX_SCHEMA_BYTES is dropped as it comes (with a log line), so a listing never holds
    more than a page beyond what it keeps."""
    tools: list[types.Tool] = []
    cursor: str | None = None
    for _ in range(_LIST_PAGES_MAX):
        page = await client.list_tools(cursor=cursor)
        for tool in page.tools:
            size = len(_SIZE.encode(tool.input_schema))
            if size > MAX_SCHEMA_BYTES:
                _log.warning(
                    "tool %r of MCP config %s left out: its input schema is %d bytes (at most %d)",
                    tool.name[:100],
                    config_id,
                    size,
                    MAX_SCHEMA_BYTES,
                )
            elif len(tools) < max_tools:
                tools.append(tool)
            else:
                _log.warning(
                    "MCP config %s offers more than %d tools: the rest are left out",
                    config_id,
                    max_tools,
                )
                return tools
        cursor = page.next_cursor
        if cursor is None:
            break
    return tools


def _annotations(tool: types.Tool) -> dict[str, Any] | None:
    """The tool's annotations as JSON (the server's hints), or None when it sent none."""
    if tool.annotations is None:
        return None
    dumped: dict[str, Any] = tool.annotations.model_dump(
        by_alias=True, mode="json", exclude_none=True
    )
    return dumped


def _specs(tools: list[types.Tool]) -> list[ToolSpec]:
    return [
        ToolSpec(
            name=tool.name,
            description=(tool.description or tool.title or "")[:MAX_DESCRIPTION_CHARS],
            input_schema=tool.input_schema,
            annotations=_annotations(tool),
        )
        for tool in tools
    ]


def _ms_since(started: float, asker: asking.CallContext | None = None) -> int:
    """Milliseconds since `started`, less the time the call's user was being asked."""
    waited = 0.0 if asker is None else asker.waited_s
    return max(round((time.monotonic() - started - waited) * 1000), 0)
