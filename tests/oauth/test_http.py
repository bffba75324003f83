"""Every OAuth request keeps to the address policy of MCP URLs, reads little, stays on origin."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from faceplate.mcp_client import addresses
from faceplate.mcp_client.addresses import IPAddress
from faceplate.mcp_client.oauth.errors import OAuthUnavailable
from faceplate.mcp_client.oauth.http import MAX_BODY, OAuthHttp
from tests.mcp_client.support import fake_dns
from tests.oauth.helpers import Hits, tiny_app
from tests.support.server import ServerThread


class Served:
    def __init__(self, thread: ServerThread, hits: Hits) -> None:
        self.url = thread.url
        self.port = thread.port
        self.hits = hits


def _serve(routes: dict[str, Callable[[Request], Response]]) -> Iterator[Served]:
    hits = Hits()
    with ServerThread(tiny_app(routes, hits)) as thread:
        yield Served(thread, hits)


@pytest.fixture
def other() -> Iterator[Served]:
    yield from _serve({"/x": lambda r: JSONResponse({"other": True})})


@pytest.fixture
def origin(other: Served) -> Iterator[Served]:
    def big(request: Request) -> Response:
        return Response(b"x" * (MAX_BODY + 1), media_type="application/json")

    yield from _serve(
        {
            "/big": big,
            "/small": lambda r: JSONResponse({"ok": True}),
            "/here": lambda r: RedirectResponse("/small", status_code=302),
            "/away": lambda r: RedirectResponse(f"{other.url}/x", status_code=302),
            "/loop": lambda r: RedirectResponse("/loop", status_code=302),
            "/post-here": lambda r: RedirectResponse("/small", status_code=307),
        }
    )


async def test_an_answer_over_the_bound_is_refused(origin: Served) -> None:
    http = OAuthHttp(allow_private=True)
    try:
        with pytest.raises(OAuthUnavailable, match="answered more than 262144 bytes"):
            await http.get(f"{origin.url}/big")
    finally:
        await http.aclose()


async def test_a_redirect_within_the_origin_is_followed(origin: Served) -> None:
    http = OAuthHttp(allow_private=True)
    try:
        reply = await http.get(f"{origin.url}/here")
    finally:
        await http.aclose()

    assert reply.status == 200
    assert reply.json() == {"ok": True}
    assert origin.hits.paths == ["/here", "/small"]


async def test_a_redirect_off_the_origin_is_not_followed(origin: Served, other: Served) -> None:
    http = OAuthHttp(allow_private=True)
    try:
        reply = await http.get(f"{origin.url}/away")
    finally:
        await http.aclose()

    assert reply.status == 302
    assert other.hits.paths == []


async def test_redirects_end(origin: Served) -> None:
    http = OAuthHttp(allow_private=True)
    try:
        with pytest.raises(OAuthUnavailable, match="redirected too many times"):
            await http.get(f"{origin.url}/loop")
    finally:
        await http.aclose()
    assert origin.hits.paths == ["/loop"] * 4


async def test_a_post_is_never_redirected(origin: Served) -> None:
    http = OAuthHttp(allow_private=True)
    try:
        reply = await http.post_form(f"{origin.url}/post-here", {"a": "b"})
    finally:
        await http.aclose()

    assert reply.status == 307
    assert origin.hits.paths == ["/post-here"]


async def test_a_private_address_is_refused_before_any_request(origin: Served) -> None:
    http = OAuthHttp(allow_private=False, require_https=False)
    try:
        with pytest.raises(OAuthUnavailable, match=r"127\.0\.0\.1 is loopback"):
            await http.get(f"{origin.url}/small")
    finally:
        await http.aclose()
    assert origin.hits.paths == []


async def test_a_name_resolving_to_a_private_address_is_refused_at_connect(
    origin: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, {"inside.example": [["127.0.0.1"]]})
    http = OAuthHttp(allow_private=False, require_https=False)
    try:
        with pytest.raises(OAuthUnavailable, match=r"inside.example \(127.0.0.1\) is loopback"):
            await http.get(f"http://inside.example:{origin.port}/small")
    finally:
        await http.aclose()
    assert origin.hits.paths == []


async def test_the_checked_address_is_the_one_connected(
    origin: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    def loopback_counts_as_public(ip: IPAddress) -> str | None:
        return None if ip.is_loopback else "private"

    monkeypatch.setattr(addresses, "refusal", loopback_counts_as_public)
    fake_dns(monkeypatch, {"auth.test": [["127.0.0.1"]]})
    http = OAuthHttp(allow_private=False, require_https=False)
    try:
        reply = await http.get(f"http://auth.test:{origin.port}/small")
    finally:
        await http.aclose()

    assert reply.json() == {"ok": True}


async def test_plain_http_is_refused_outside_dev() -> None:
    http = OAuthHttp(allow_private=False)
    try:
        with pytest.raises(OAuthUnavailable, match="must use https"):
            await http.get("http://auth.example.com/.well-known/oauth-authorization-server")
    finally:
        await http.aclose()


@pytest.mark.parametrize("url", ["ftp://auth.example.com/x", "file:///etc/passwd", "nonsense"])
async def test_other_schemes_are_refused(url: str) -> None:
    http = OAuthHttp(allow_private=True)
    try:
        with pytest.raises(OAuthUnavailable):
            await http.get(url)
    finally:
        await http.aclose()
