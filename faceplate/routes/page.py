"""The chat page (CONTRACT §11): `/`, its files under `/assets/`, its config and dev sign-in.

These routes are not REST API and stay out of /openapi.json. With `FACEPLATE_WEB=false` none of
them exists (each answers 404 as an unknown path would); the dev sign-in exists in dev mode only.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from faceplate.api.page import DevToken, DevTokenRequest, HostedUi, PageConfig
from faceplate.auth.dev import load_or_create_secret, mint_token
from faceplate.settings import Settings
from faceplate.state import app_state
from faceplate.web.bodies import JSONResponse, decode_body
from faceplate.web.failures import decode_response, error_response
from faceplate.web.static import Asset, asset_response, load_assets

PAGE_DIR: Final = Path(__file__).resolve().parent.parent / "page"
_INDEX: Final = "index.html"
_HOST_SAFE: Final = re.compile(r"[A-Za-z0-9.\-:\[\]]{1,300}")
_COMMON: Final = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

_DEV_TOKEN: Final = msgspec.json.Decoder(DevTokenRequest)


@functools.cache
def _assets() -> dict[str, Asset]:
    return load_assets(PAGE_DIR)


def _not_found() -> Response:
    return error_response(404, "not_found", "not found", _COMMON)


def _ws_origins(request: Request) -> str:
    """ws: and wss: of the host the page was loaded from, for connect-src (older browsers do
    not count them as 'self'). A Host header of unexpected characters adds nothing."""
    host = request.headers.get("host", "")
    return f" ws://{host} wss://{host}" if _HOST_SAFE.fullmatch(host) else ""


def content_security_policy(request: Request, settings: Settings) -> str:
    """No inline script, no eval, no plugins or frames; connections to this origin only (and
    the Hosted UI's token endpoint in cognito mode); images from here or data: URLs."""
    connect = "'self'" + _ws_origins(request)
    if settings.auth == "cognito" and settings.cognito_domain:
        connect += f" {settings.cognito_domain}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'; object-src 'none'"
    )


async def index(request: Request) -> Response:
    settings = app_state(request).settings
    headers = {
        **_COMMON,
        "Cache-Control": "no-cache",
        "Content-Security-Policy": content_security_policy(request, settings),
        "Cross-Origin-Opener-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }
    return asset_response(request, _assets()[_INDEX], headers)


async def asset(request: Request) -> Response:
    found = _assets().get(request.path_params["path"])
    if found is None:
        return _not_found()
    return asset_response(request, found, {**_COMMON, "Cache-Control": "no-cache"})


def page_config_of(settings: Settings) -> PageConfig:
    cognito = None
    if settings.auth == "cognito" and settings.cognito_domain and settings.cognito_client_ids:
        cognito = HostedUi(
            domain=settings.cognito_domain,
            client_id=settings.cognito_client_ids[0],
            redirect_uri=None,
        )
    return PageConfig(auth=settings.auth, cognito=cognito)


async def page_config(request: Request) -> Response:
    config = page_config_of(app_state(request).settings)
    return JSONResponse(config, headers={**_COMMON, "Cache-Control": "no-store"})


def _trusted_host(request: Request) -> bool:
    """A loopback name or an IP literal: a page reached through another name could be a DNS
    rebinding of someone else's site, which must not mint tokens for itself."""
    host = request.headers.get("host", "")
    name = host[1:].split("]")[0] if host.startswith("[") else host.rsplit(":", 1)[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


async def dev_token(request: Request) -> Response:
    state = app_state(request)
    if not _trusted_host(request):
        return error_response(
            404, "not_found", "dev sign-in answers only on localhost or an IP address", _COMMON
        )
    try:
        body = await decode_body(request, _DEV_TOKEN)
    except msgspec.DecodeError as e:
        return decode_response(e)
    secret = load_or_create_secret(state.settings.data_dir)
    token = mint_token(secret, email=body.email, ttl_s=body.ttl_s)
    expires = datetime.fromtimestamp(int(time.time()) + body.ttl_s, UTC)
    headers = {**_COMMON, "Cache-Control": "no-store"}
    return JSONResponse(DevToken(token=token, expires_at=expires), headers=headers)


_Handler = Callable[[Request], Awaitable[Response]]


class _PageEndpoint:
    """One page route as an ASGI app that takes every method, so that a route switched off by
    a setting is a 404 whatever the method, as a path that was never routed."""

    def __init__(self, handler: _Handler, methods: tuple[str, ...], *, dev_only: bool) -> None:
        self._handler = handler
        self._methods = methods
        self._dev_only = dev_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        settings = app_state(request).settings
        if not settings.web or (self._dev_only and settings.auth != "dev"):
            response = _not_found()
        elif request.method not in self._methods:
            allowed = ", ".join(self._methods)
            response = error_response(
                405, "method_not_allowed", "method not allowed", {**_COMMON, "Allow": allowed}
            )
        else:
            response = await self._handler(request)
        await response(scope, receive, send)


def page_routes() -> list[BaseRoute]:
    """The page's routes; the app adds them after the REST routes, outside the OpenAPI table."""
    read = ("GET", "HEAD")
    endpoints = {
        "/": _PageEndpoint(index, read, dev_only=False),
        "/assets/{path:path}": _PageEndpoint(asset, read, dev_only=False),
        "/page/config": _PageEndpoint(page_config, read, dev_only=False),
        "/page/dev-token": _PageEndpoint(dev_token, ("POST",), dev_only=True),
    }
    return [Route(path, app, include_in_schema=False) for path, app in endpoints.items()]
