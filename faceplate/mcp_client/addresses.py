"""Which MCP server URLs a user may connect to (stdio servers: see faceplate.mcp_client.stdio)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Final
from urllib.parse import urlsplit

from faceplate.mcp_client.errors import RefusedAddress, ToolUnavailable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SCHEMES: Final = frozenset({"http", "https"})
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_REASONS: Final = (
    ("is_unspecified", "unspecified"),
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_multicast", "multicast"),
    ("is_private", "private"),
    ("is_reserved", "reserved"),
)


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse a URL that is not http(s), or whose host is a local name or a refused IP literal.

    Host names are not resolved here: `check_url_async` also checks what they resolve to.
    """
    host, _ = _host_and_port(url)
    if not allow_private:
        _check_literal(host)


async def check_url_async(url: str, *, allow_private: bool) -> None:
    """`check_url`, then refuse a host name if any address it resolves to is refused.

    Raises ToolUnavailable when the name does not resolve.
    """
    host, port = _host_and_port(url)
    if not allow_private:
        await allowed_addresses(host, port)


async def allowed_addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses `host` resolves to; RefusedAddress if any of them is refused.

    For a connection that must not reach private addresses: connect only to what this returns.
    Raises ToolUnavailable when the name does not resolve.
    """
    ip = _check_literal(host)
    if ip is not None:
        return [ip]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ToolUnavailable(f"cannot resolve MCP server host {host}") from exc
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        _check_ip(host, ip)
        if ip not in addresses:
            addresses.append(ip)
    return addresses


def refusal(ip: IPAddress) -> str | None:
    """Why connecting to this address is refused when private addresses are not allowed."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return refusal(embedded)
    for flag, reason in _REASONS:
        if getattr(ip, flag):
            return reason
    return None if ip.is_global else "not public"


def _host_and_port(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port
    except ValueError as exc:
        raise RefusedAddress(f"invalid MCP server URL: {exc}") from exc
    if scheme not in _SCHEMES:
        raise RefusedAddress(f"MCP server URL must use http or https, not {scheme or 'nothing'}")
    if not parts.hostname:
        raise RefusedAddress("MCP server URL has no host")
    return parts.hostname, port or (443 if scheme == "https" else 80)


def _check_literal(host: str) -> IPAddress | None:
    """Refuse a local name or a refused IP literal; the literal's address, if it is one."""
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        raise RefusedAddress(f"MCP server host {host} is a local name")
    ip = _literal_ip(host)
    if ip is not None:
        _check_ip(host, ip)
    return ip


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        # Also the shorthand forms a resolver accepts as IPv4: 127.1, 0x7f000001, 2130706433.
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _check_ip(host: str, ip: IPAddress) -> None:
    reason = refusal(ip)
    if reason is not None:
        shown = host if host == str(ip) else f"{host} ({ip})"
        raise RefusedAddress(f"MCP server address {shown} is {reason}, which is not allowed")
