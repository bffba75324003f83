"""HTTP clients whose every TCP connection goes only to addresses a user may reach."""

from __future__ import annotations

from collections.abc import Iterable

import httpcore2
import httpx2

from faceplate.mcp_client.addresses import allowed_addresses
from faceplate.mcp_client.errors import RefusedAddress


def guarded_client(
    headers: dict[str, str] | None = None,
    timeout: httpx2.Timeout | None = None,
    auth: httpx2.Auth | None = None,
) -> httpx2.AsyncClient:
    """An HTTP client that resolves and checks each host itself, then connects to that address.

    What was checked is what gets connected to, so a name that resolves differently a second
    time (DNS rebinding) cannot reach a private address. Proxy settings of the environment are
    ignored: a proxy would make the connection on our behalf, unchecked.
    """
    return httpx2.AsyncClient(
        headers=headers, timeout=timeout, auth=auth, transport=_GuardedTransport()
    )


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
