"""One live MCP connection, opened and closed by its own runner task."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from typing import Final
from uuid import UUID

import anyio
import httpx2
import mcp_types as types
from mcp.client import Client
from mcp.client.session import ClientRequestContext
from mcp.client.subscriptions import ListenNotSupportedError, Subscription, SubscriptionLost
from mcp.shared.exceptions import MCPError

from faceplate.agents.base import ToolSpec
from faceplate.mcp_client import asking
from faceplate.mcp_client.bounds import Overflow, watch_connection
from faceplate.mcp_client.errors import ToolUnavailable
from faceplate.mcp_client.results import describe_failure
from faceplate.mcp_client.transports import ConnectPolicy, open_client
from faceplate.structs import McpServerConfig, StdioConfig

_log = logging.getLogger(__name__)

_CLOSE_GRACE_S: Final = 5.0
_CLOSE_WAIT_S: Final = 15.0
URL_MODE_REFUSED: Final = (
    "Faceplate does not support URL-mode elicitation yet: the user was not asked"
)
NO_ONE_TO_ASK: Final = "no tool call of this client can ask the user now: the user was not asked"


class Connection:
    """One connection, owned by its runner task, which enters and exits every SDK context.

    It keeps its server's tool listing (`tools`, set by whoever listed) until the server says
    the list changed: a `notifications/tools/list_changed`, or an event on the
    `subscriptions/listen` stream it holds open when an HTTP or SSE server offers one
    (2026-07-28). A stdio server gets no such stream (its one pipe would carry it, and the SDK's
    stdio server answers nothing else while it is open): its listing holds until its process is
    replaced. A new connection starts with none.
    """

    def __init__(
        self,
        config_id: UUID,
        config: McpServerConfig,
        policy: ConnectPolicy,
        connect_timeout_s: float,
        *,
        user_id: UUID | None = None,
        auth: httpx2.Auth | None = None,
    ) -> None:
        self.config_id = config_id
        self.user_id = user_id
        self.auth = auth
        self.stdio = isinstance(config, StdioConfig)
        self.lost_reason: str | None = None  # how the server went away, when it is known
        self.in_flight = 0
        self.last_used = time.monotonic()
        self._client: Client | None = None
        self._error: BaseException | None = None
        self._lost = False
        self._ready = asyncio.Event()
        self._close = asyncio.Event()
        self._connect_scope: anyio.CancelScope | None = None
        self.overflow = Overflow()
        self.tools: list[ToolSpec] | None = None
        self.tools_changes = 0  # how many times the server said its tools changed
        self._calls: dict[asking.CallContext, None] = {}  # calls in flight that may ask
        # The runner, and the streams it opens, belong to no call: a question they carry is
        # routed by the calls in flight, never by the call that happened to open the connection.
        context = contextvars.copy_context()
        context.run(asking.CURRENT.set, None)
        self._task = asyncio.create_task(
            self._run(config, policy, connect_timeout_s),
            name=f"mcp-session-{config_id}",
            context=context,
        )

    @property
    def usable(self) -> bool:
        return not (self._lost or self._close.is_set() or self._task.done())

    @property
    def finished(self) -> bool:
        """Its runner has ended: whatever it started (a stdio process) is gone."""
        return self._task.done()

    @property
    def ended(self) -> bool:
        return self._lost or self._task.done()

    async def connected(self) -> Client:
        """The connected client; raises ToolUnavailable if connecting failed or it closed."""
        await self._ready.wait()
        if self._client is None:
            raise ToolUnavailable(describe_failure(self._error)) from self._error
        return self._client

    def close(self) -> None:
        self._close.set()
        if self._client is None and self._connect_scope is not None:
            self._connect_scope.cancel()

    def on_closed(self, callback: Callable[[Connection], None]) -> None:
        self._task.add_done_callback(lambda _: callback(self))

    async def wait_closed(self) -> None:
        done, _ = await asyncio.wait({self._task}, timeout=_CLOSE_WAIT_S)
        if not done:
            _log.warning("MCP session of config %s did not close; cancelling it", self.config_id)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.contextmanager
    def calling(self, call: asking.CallContext | None) -> Iterator[None]:
        """A call in flight on this connection, whom the server's questions may be for."""
        if call is None:
            yield
            return
        self._calls[call] = None
        try:
            yield
        finally:
            self._calls.pop(call, None)

    async def _elicit(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        """A server's question: to the user of the call it belongs to (form mode only)."""
        if isinstance(params, types.ElicitRequestURLParams):
            _log.info("MCP config %s asked for URL-mode elicitation: declined", self.config_id)
            return types.ErrorData(code=types.INVALID_REQUEST, message=URL_MODE_REFUSED)
        call = asking.current()
        if call not in self._calls:
            call = next(iter(self._calls)) if len(self._calls) == 1 else None
        if call is None:
            _log.info("MCP config %s asked the user with no call to ask for", self.config_id)
            return types.ErrorData(code=types.INVALID_REQUEST, message=NO_ONE_TO_ASK)
        with call.paused():
            answer = await call.asker.elicit(
                self.config_id, params.message, params.requested_schema
            )
        return types.ElicitResult(action=answer.action, content=answer.content)

    def remember_tools(self, tools: list[ToolSpec], changes: int) -> None:
        """Keep a listing begun when `tools_changes` was `changes`, unless a change came since."""
        if changes == self.tools_changes and self.usable:
            self.tools = tools

    def tools_changed(self) -> None:
        """The server's tools changed (or its word on them can no longer be heard)."""
        self.tools = None
        self.tools_changes += 1

    async def _follow(self, changes: Subscription) -> None:
        try:
            async for _ in changes:
                self.tools_changed()
        except SubscriptionLost:
            pass
        finally:
            self.tools_changed()  # without the stream, a change would go unheard: list anew

    def _mark_lost(self, reason: str | None) -> None:
        if not self._lost and not self._close.is_set():
            self.lost_reason = reason
            why = f": {reason}" if reason else ""
            _log.info("MCP connection of config %s was lost%s", self.config_id, why)
        self._lost = True

    async def _run(
        self, config: McpServerConfig, policy: ConnectPolicy, connect_timeout_s: float
    ) -> None:
        # What this task opens (a legacy SSE stream serving every call) notes overflows here.
        self.overflow = watch_connection()
        try:
            deadline = anyio.current_time() + connect_timeout_s
            with anyio.CancelScope(deadline=deadline) as scope:
                self._connect_scope = scope
                if self._close.is_set():
                    scope.cancel()
                async with AsyncExitStack() as stack:
                    client = await open_client(
                        stack,
                        self.config_id,
                        config,
                        policy,
                        self._mark_lost,
                        self.auth,
                        elicitation=self._elicit,
                        on_tools_changed=self.tools_changed,
                    )
                    changes = (
                        None if self.stdio else await _tool_changes(stack, client, self.config_id)
                    )
                    scope.deadline = math.inf
                    self._client = client
                    self._ready.set()
                    follower = (
                        None
                        if changes is None
                        else asyncio.create_task(
                            self._follow(changes), name=f"mcp-tool-changes-{self.config_id}"
                        )
                    )
                    try:
                        await self._close.wait()
                    finally:
                        if follower is not None:
                            follower.cancel()
                            await asyncio.wait({follower})
                    scope.deadline = anyio.current_time() + _CLOSE_GRACE_S
            if self._error is None and not self._ready.is_set() and scope.cancelled_caught:
                closed = self._close.is_set()
                self._error = ToolUnavailable(
                    "the MCP session was closed while connecting"
                    if closed
                    else f"MCP server did not connect within {connect_timeout_s:g} s"
                )
        except Exception as exc:
            self._error = exc if self.lost_reason is None else ToolUnavailable(self.lost_reason)
            if self._ready.is_set():
                reason = describe_failure(exc)
                _log.warning("MCP session of config %s ended: %s", self.config_id, reason)
        finally:
            self._lost = True
            self._client = None
            self._ready.set()


async def _tool_changes(
    stack: AsyncExitStack, client: Client, config_id: UUID
) -> Subscription | None:
    """A `subscriptions/listen` stream of the server's tool-list changes, closed with `stack`;
    None when the server offers none (an older protocol says them as notifications instead)."""
    tools = client.server_capabilities.tools
    if tools is None or not tools.list_changed:
        return None
    try:
        changes = await stack.enter_async_context(client.listen(tools_list_changed=True))
    except ListenNotSupportedError:
        return None
    except (MCPError, SubscriptionLost) as exc:
        _log.info("MCP config %s: no stream of tool changes: %s", config_id, describe_failure(exc))
        return None
    return changes if changes.honored.tools_list_changed else None
