from __future__ import annotations

import pytest

from faceplate.mcp_client.addresses import check_url, check_url_async
from faceplate.mcp_client.errors import CommandNotAllowed, RefusedAddress, ToolUnavailable
from tests.mcp_client.support import fake_dns

REFUSED = [
    ("http://127.0.0.1/mcp", "loopback"),
    ("http://127.1/mcp", "loopback"),
    ("http://2130706433/mcp", "loopback"),
    ("http://[::1]:8080/mcp", "loopback"),
    ("http://[::ffff:127.0.0.1]/mcp", "loopback"),
    ("http://[::ffff:10.0.0.1]/mcp", "private"),
    ("http://[2002:7f00:1::1]/mcp", "loopback"),
    ("http://[64:ff9b::a9fe:a9fe]/mcp", "link-local"),
    ("http://10.1.2.3/mcp", "private"),
    ("http://172.16.0.1/mcp", "private"),
    ("https://192.168.1.1/mcp", "private"),
    ("http://[fc00::1]/mcp", "private"),
    ("http://169.254.169.254/latest", "link-local"),
    ("http://[fe80::1]/mcp", "link-local"),
    ("http://0.0.0.0/mcp", "unspecified"),
    ("http://[::]/mcp", "unspecified"),
    ("http://224.0.0.1/mcp", "multicast"),
    ("http://[ff02::1]/mcp", "multicast"),
    ("http://240.0.0.1/mcp", "private"),
    ("http://100.64.0.1/mcp", "not public"),
]
PUBLIC = [
    "https://8.8.8.8/mcp",
    "http://[2606:4700:4700::1111]/mcp",
    "http://[::ffff:8.8.8.8]/mcp",
    "https://mcp.example.com/mcp",
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_refused_addresses(url: str, reason: str) -> None:
    with pytest.raises(RefusedAddress, match=f"is {reason}, which is not allowed"):
        check_url(url, allow_private=False)


@pytest.mark.parametrize(("url", "_reason"), REFUSED)
def test_private_addresses_allowed_when_configured(url: str, _reason: str) -> None:
    check_url(url, allow_private=True)


@pytest.mark.parametrize("url", PUBLIC)
def test_public_addresses_allowed(url: str) -> None:
    check_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url", ["http://localhost:8000/mcp", "http://LOCALHOST./", "http://a.localhost"]
)
def test_local_names_refused(url: str) -> None:
    with pytest.raises(RefusedAddress, match="local name"):
        check_url(url, allow_private=False)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "file:///etc/passwd", "example.com/mcp", "javascript:x"]
)
@pytest.mark.parametrize("allow_private", [True, False])
def test_only_http_and_https(url: str, allow_private: bool) -> None:
    with pytest.raises(RefusedAddress, match="http or https"):
        check_url(url, allow_private=allow_private)


@pytest.mark.parametrize("url", ["http:///mcp", "http://example.com:99999/", "https://[::1/"])
def test_malformed_urls(url: str) -> None:
    with pytest.raises(RefusedAddress):
        check_url(url, allow_private=True)


async def test_name_resolving_to_a_private_address_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_dns(monkeypatch, {"rebind.example": [["93.184.216.34", "10.0.0.7"]]})

    with pytest.raises(RefusedAddress, match=r"rebind\.example \(10\.0\.0\.7\) is private"):
        await check_url_async("https://rebind.example/mcp", allow_private=False)


async def test_name_resolving_to_link_local_v6_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"v6.example": [["fe80::1%2"]]})

    with pytest.raises(RefusedAddress, match="link-local"):
        await check_url_async("https://v6.example/mcp", allow_private=False)


async def test_name_resolving_to_public_addresses_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_dns(monkeypatch, {"mcp.example": [["93.184.216.34", "2606:2800:220:1::1"]]})

    await check_url_async("https://mcp.example/mcp", allow_private=False)


async def test_unresolvable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {})

    with pytest.raises(ToolUnavailable, match=r"cannot resolve MCP server host nowhere\.example"):
        await check_url_async("https://nowhere.example/mcp", allow_private=False)


async def test_no_resolution_when_private_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {})

    await check_url_async("https://nowhere.example/mcp", allow_private=True)


def test_errors_fit_the_domain_tree() -> None:
    from faceplate.errors import Invalid, UpstreamError

    assert issubclass(RefusedAddress, Invalid)
    assert issubclass(CommandNotAllowed, Invalid)
    assert issubclass(ToolUnavailable, UpstreamError)
    assert ToolUnavailable().message == "The MCP server could not be reached or did not speak MCP."
