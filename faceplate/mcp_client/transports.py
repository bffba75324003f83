"""Opening an MCP client over the transport a config names, after its address or command checks."""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from functools import partial
from types import TracebackType
from typing import Final, Self
from uuid import UUID

import anyio
import anyio.lowlevel
import httpx2
import mcp_types as types
import msgspec
from mcp.client import Client, IncomingMessage
from mcp.client._transport import ReadStream, TransportStreams
from mcp.client.session import ElicitationFnT, MessageHandlerFnT
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import SessionMessage

from faceplate.mcp_client.addresses import check_url_async
from faceplate.mcp_client.bounds import MAX_MESSAGE_BYTES, SSE_EVENT_BYTES
from faceplate.mcp_client.guard import mcp_http_client
from faceplate.mcp_client.stdio.runtime import StdioRuntime
from faceplate.mcp_client.stdio.servers import stdio_refused
from faceplate.mcp_client.stdio.transport import StdioTransport
from faceplate.structs import HttpConfig, McpServerConfig, SseConfig, StdioConfig

CLIENT_INFO: Final = types.Implementation(name="faceplate", version="0.1.0")

_HTTP_TIMEOUT: Final = httpx2.Timeout(30.0, read=300.0)

OnLost = Callable[[str | None], None]


class ConnectPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Where users may connect: private addresses or not, and the stdio servers offered."""

    allow_private: bool
    stdio: StdioRuntime | None = None


async def open_client(
    stack: AsyncExitStack,
    config_id: UUID,
    config: McpServerConfig,
    policy: ConnectPolicy,
    on_lost: OnLost,
    auth: httpx2.Auth | None = None,
    *,
    elicitation: ElicitationFnT | None = None,
    on_tools_changed: Callable[[], None] | None = None,
) -> Client:
    """Connect and negotiate; what it opens is pushed on `stack`, exited by the caller's task.

    The URL (or the stdio entry) is checked again on every connect. `on_lost(reason)` is called
    once the connection's incoming stream ends: the server went away or the transport broke;
    `reason` says how when the transport knows (a stdio server's exit), else None. `auth` (an
    HTTP or SSE config's OAuth bearer) sees every HTTP request of the connection.
    `elicitation` answers the server's questions to the user (none: the client offers none).
    `on_tools_changed()` hears a `notifications/tools/list_changed` of a server that speaks a
    protocol before 2026-07-28 (later ones say it on a `subscriptions/listen` stream).
    """
    transport, reason = await _transport(stack, config_id, config, policy, auth)
    watched = _watched(transport, lambda: on_lost(reason()))
    handler = None if on_tools_changed is None else _notifications(on_tools_changed)
    client = Client(
        watched,
        cache=None,
        client_info=CLIENT_INFO,
        message_handler=handler,
        elicitation_callback=elicitation,
    )
    await stack.enter_async_context(client)
    return client


def _notifications(on_tools_changed: Callable[[], None]) -> MessageHandlerFnT:
    async def handle(message: IncomingMessage) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            on_tools_changed()
        await anyio.lowlevel.checkpoint()  # what the SDK's own handler does

    return handle


def _no_reason() -> str | None:
    return None


async def _transport(
    stack: AsyncExitStack,
    config_id: UUID,
    config: McpServerConfig,
    policy: ConnectPolicy,
    auth: httpx2.Auth | None,
) -> tuple[AbstractAsyncContextManager[TransportStreams], Callable[[], str | None]]:
    match config:
        case HttpConfig(url=url, headers=headers):
            await check_url_async(url, allow_private=policy.allow_private)
            http = mcp_http_client(
                allow_private=policy.allow_private,
                headers=dict(headers),
                timeout=_HTTP_TIMEOUT,
                auth=auth,
            )
            await stack.enter_async_context(http)
            streams = streamable_http_client(
                url, http_client=http, max_sse_event_size=MAX_MESSAGE_BYTES
            )
            return streams, _no_reason
        case SseConfig(url=url, headers=headers):
            await check_url_async(url, allow_private=policy.allow_private)
            factory = partial(
                mcp_http_client,
                allow_private=policy.allow_private,
                max_event_bytes=SSE_EVENT_BYTES,
            )
            sse = sse_client(url, headers=dict(headers), auth=auth, httpx_client_factory=factory)
            return sse, _no_reason
        case StdioConfig():
            if policy.stdio is None:
                raise stdio_refused()
            policy.stdio.match(config)  # the entry may be gone since the config was saved
            stdio = StdioTransport(policy.stdio, config, config_id)
            return stdio.connect(), lambda: stdio.failure


@asynccontextmanager
async def _watched(
    transport: AbstractAsyncContextManager[TransportStreams], on_lost: Callable[[], None]
) -> AsyncIterator[TransportStreams]:
    async with transport as (read_stream, write_stream):
        yield _WatchedReadStream(read_stream, on_lost), write_stream


class _WatchedReadStream:
    """A transport's incoming stream that reports its end: then the connection is gone."""

    def __init__(
        self, inner: ReadStream[SessionMessage | Exception], on_end: Callable[[], None]
    ) -> None:
        self._inner = inner
        self._on_end = on_end

    @property
    def last_context(self) -> contextvars.Context | None:
        context: contextvars.Context | None = getattr(self._inner, "last_context", None)
        return context

    async def receive(self) -> SessionMessage | Exception:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._on_end()
            raise

    async def aclose(self) -> None:
        self._on_end()
        await self._inner.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.aclose()
