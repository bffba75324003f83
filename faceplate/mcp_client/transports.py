"""Opening an MCP client over the transport a config names, after its address or command checks."""

from __future__ import annotations

import contextvars
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from types import TracebackType
from typing import Final, Self, TextIO

import anyio
import httpx2
import mcp_types as types
import msgspec
from mcp.client import Client
from mcp.client._transport import ReadStream, TransportStreams
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import SessionMessage

from faceplate.mcp_client.addresses import check_command, check_url_async
from faceplate.mcp_client.guard import guarded_client
from faceplate.structs import HttpConfig, McpServerConfig, SseConfig, StdioConfig

CLIENT_INFO: Final = types.Implementation(name="faceplate", version="0.1.0")

# Besides these, the SDK passes HOME, LOGNAME, PATH, SHELL, TERM and USER to stdio servers.
_STDIO_INHERITED_ENV: Final = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")
_HTTP_TIMEOUT: Final = httpx2.Timeout(30.0, read=300.0)


class ConnectPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Where users may connect: private addresses or not, and the stdio commands allowed."""

    allow_private: bool
    stdio_commands: tuple[str, ...] = ()


async def open_client(
    stack: AsyncExitStack,
    config: McpServerConfig,
    policy: ConnectPolicy,
    on_lost: Callable[[], None],
) -> Client:
    """Connect and negotiate; what it opens is pushed on `stack`, exited by the caller's task.

    The URL is checked (and resolved) again on every connect. `on_lost` is called once the
    connection's incoming stream ends: the server went away or the transport broke.
    """
    transport = await _transport(stack, config, policy)
    client = Client(_watched(transport, on_lost), cache=None, client_info=CLIENT_INFO)
    await stack.enter_async_context(client)
    return client


async def _transport(
    stack: AsyncExitStack, config: McpServerConfig, policy: ConnectPolicy
) -> AbstractAsyncContextManager[TransportStreams]:
    match config:
        case HttpConfig(url=url, headers=headers):
            await check_url_async(url, allow_private=policy.allow_private)
            make_client = httpx2.AsyncClient if policy.allow_private else guarded_client
            http = make_client(headers=dict(headers), timeout=_HTTP_TIMEOUT)
            await stack.enter_async_context(http)
            return streamable_http_client(url, http_client=http)
        case SseConfig(url=url, headers=headers):
            await check_url_async(url, allow_private=policy.allow_private)
            if policy.allow_private:
                return sse_client(url, headers=dict(headers))
            return sse_client(url, headers=dict(headers), httpx_client_factory=guarded_client)
        case StdioConfig(command=command, args=args, env=env):
            check_command(command, policy.stdio_commands)
            inherited = {k: os.environ[k] for k in _STDIO_INHERITED_ENV if k in os.environ}
            params = StdioServerParameters(command=command, args=list(args), env=inherited | env)
            return stdio_client(params, errlog=_errlog(stack))


def _errlog(stack: AsyncExitStack) -> TextIO:
    """Where a stdio server's stderr goes: ours when it is a real file, else nowhere."""
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return stack.enter_context(open(os.devnull, "w"))
    return sys.stderr


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
