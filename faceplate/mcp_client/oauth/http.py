"""HTTP for OAuth: the address policy of MCP URLs, bounded answers, redirects kept on one origin."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import httpx2
import msgspec

from faceplate.mcp_client.addresses import check_url
from faceplate.mcp_client.errors import RefusedAddress, ToolUnavailable
from faceplate.mcp_client.guard import guarded_client
from faceplate.mcp_client.oauth.errors import OAuthUnavailable

logger = logging.getLogger(__name__)

MAX_BODY: Final = 256 * 1024
_TIMEOUT: Final = httpx2.Timeout(10.0)
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS: Final = 3
_JSON: Final = msgspec.json.Decoder()


class Reply(msgspec.Struct, frozen=True, kw_only=True):
    """An answer read whole (at most MAX_BODY bytes)."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; OAuthUnavailable when it is not one."""
        try:
            value = _JSON.decode(self.body)
        except msgspec.DecodeError:
            value = None
        if not isinstance(value, dict):
            raise OAuthUnavailable("the authorization server did not answer with a JSON object")
        return value


class OAuthHttp:
    """One HTTP client for every OAuth request of an app.

    Without `allow_private`, every connection goes through the address guard of MCP URLs (the
    address checked is the one connected to), and only https URLs are used. A redirect is
    followed only for a GET, only within the origin asked, at most three times. Nothing here
    logs a request body, a query string or an answer.
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        require_https: bool | None = None,
        max_body: int = MAX_BODY,
    ) -> None:
        self.allow_private = allow_private
        self.require_https = not allow_private if require_https is None else require_https
        self._max_body = max_body
        self._client = (
            httpx2.AsyncClient(timeout=_TIMEOUT, trust_env=False)
            if allow_private
            else guarded_client(timeout=_TIMEOUT)
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def check(self, url: str) -> None:
        """Raise OAuthUnavailable for a URL the policy does not allow."""
        try:
            check_url(url, allow_private=self.allow_private)
        except RefusedAddress as exc:
            raise OAuthUnavailable(exc.message) from None
        if self.require_https and urlsplit(url).scheme.lower() != "https":
            raise OAuthUnavailable(f"OAuth endpoints must use https, not {_where(url)}")

    async def get(self, url: str) -> Reply:
        return await self._send("GET", url, headers={"Accept": "application/json"})

    async def post_form(
        self, url: str, data: Mapping[str, str], headers: Mapping[str, str] | None = None
    ) -> Reply:
        return await self._send(
            "POST",
            url,
            headers={"Accept": "application/json", **(headers or {})},
            data=dict(data),
        )

    async def post_json(self, url: str, body: Mapping[str, Any]) -> Reply:
        return await self._send("POST", url, headers={"Accept": "application/json"}, json=body)

    async def probe(self, url: str, method: str, headers: Mapping[str, str], body: Any) -> Reply:
        """One request to an MCP server, its answer's body left unread (it may be a stream)."""
        check_url(url, allow_private=self.allow_private)
        try:
            request = self._client.build_request(method, url, headers=dict(headers), json=body)
            response = await self._client.send(request, stream=True, follow_redirects=False)
            await response.aclose()
        except (httpx2.HTTPError, OSError, ToolUnavailable, RefusedAddress) as exc:
            raise OAuthUnavailable(_unreachable(url, exc)) from exc
        return Reply(status=response.status_code, headers=dict(response.headers), body=b"")

    async def _send(self, method: str, url: str, **kwargs: Any) -> Reply:
        self.check(url)
        origin = _origin(url)
        for _ in range(_MAX_REDIRECTS + 1):
            try:
                reply, location = await self._once(method, url, **kwargs)
            except (httpx2.HTTPError, OSError, ToolUnavailable, RefusedAddress) as exc:
                raise OAuthUnavailable(_unreachable(url, exc)) from exc
            if location is None or method != "GET":
                return reply
            if _origin(location) != origin:
                logger.info("OAuth: not following a redirect off %s", _host(url))
                return reply
            url = location
        raise OAuthUnavailable(f"{_host(url)} redirected too many times")

    async def _once(self, method: str, url: str, **kwargs: Any) -> tuple[Reply, str | None]:
        async with self._client.stream(method, url, follow_redirects=False, **kwargs) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self._max_body:
                    raise OAuthUnavailable(
                        f"{_host(url)} answered more than {self._max_body} bytes"
                    )
            location = None
            if response.status_code in _REDIRECTS and "location" in response.headers:
                location = str(response.url.join(response.headers["location"]))
            reply = Reply(
                status=response.status_code, headers=dict(response.headers), body=bytes(body)
            )
            return reply, location


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = httpx2.URL(url)
    return parts.scheme, parts.host, parts.port


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _host(url: str) -> str:
    return urlsplit(url).hostname or "the authorization server"


def _unreachable(url: str, exc: BaseException) -> str:
    if isinstance(exc, RefusedAddress | ToolUnavailable):
        return exc.message
    return f"could not reach {_host(url)}: {type(exc).__name__}"
