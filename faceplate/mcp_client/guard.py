"""HTTP clients of MCP connections: every TCP connection only to addresses a user may reach,
every answer read within a byte cap."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import httpcore2
import httpx2

from faceplate.mcp_client.addresses import allowed_addresses
from faceplate.mcp_client.bounds import MAX_MESSAGE_BYTES, ResponseCaps
from faceplate.mcp_client.errors import RefusedAddress

# The SDK's own default: a server may hold a response stream open for long.
_DEFAULT_TIMEOUT: Final = httpx2.Timeout(30.0, read=300.0)


def guarded_client(
    headers: dict[str, str] | None = None,
    timeout: httpx2.Timeout | None = None,
    auth: httpx2.Auth | None = None,
) -> httpx2.AsyncClient:
    """An HTTP client that resolves and checks each host itself, then connects to that address.

    What was checked is what gets connected to, so a name that resolves differently a second
    time (DNS rebinding) cannot reach a private address. Proxy settings of the environment are
    ignored: a proxy would make the connection on our behalf, unchecked. Answers are read
    within the byte caps, as `mcp_http_client` says.
    """
    return mcp_http_client(allow_private=False, headers=headers, timeout=timeout, auth=auth)


class _GuardedTransport(httpx2.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx2.create_ssl_context(trust_env=False),
            network_backend=_GuardedBackend(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
        )


class _GuardedBackend(httpcore2.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        failure: Exception | None = None
        for ip in await allowed_addresses(host, port):
            try:
                return await self._inner.connect_tcp(
                    str(ip),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore2.ConnectError(f"no address for {host}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise RefusedAddress("MCP servers cannot be reached over a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def mcp_http_client(
    *,
    allow_private: bool,
    headers: dict[str, str] | None = None,
    timeout: httpx2.Timeout | None = None,
    auth: httpx2.Auth | None = None,
    max_event_bytes: int = MAX_MESSAGE_BYTES,
) -> httpx2.AsyncClient:
    """The HTTP client of one MCP connection: guarded unless private addresses are allowed,
    and every answer read within the byte caps of `bounds` (a body at most MAX_MESSAGE_BYTES,
    an event of a stream at most `max_event_bytes`)."""
    # Compressed answers are decompressed within the cap; other encodings are not asked for.
    sent = {"accept-encoding": "gzip, deflate", **(headers or {})}
    caps = ResponseCaps(max_event_bytes=max_event_bytes)
    return httpx2.AsyncClient(
        headers=sent,
        timeout=timeout or _DEFAULT_TIMEOUT,
        auth=auth,
        transport=None if allow_private else _GuardedTransport(),
        trust_env=allow_private,
        event_hooks={"response": [caps]},
    )
