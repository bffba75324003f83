"""`GET /metrics` (CONTRACT §11): Prometheus' text format, when `FACEPLATE_METRICS=true`.

Off, the route does not exist (404 as an unknown path, whatever the method). With
`FACEPLATE_METRICS_TOKEN` set, only a request bearing that token is answered; any other gets
401 with `WWW-Authenticate: Bearer`. Not REST API: outside `/openapi.json`.
"""

from __future__ import annotations

import hmac
from typing import Final

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from faceplate.auth import InvalidToken, bearer_token
from faceplate.state import app_state
from faceplate.web.endpoint import Endpoint
from faceplate.web.failures import error_response

_READ: Final = ("GET", "HEAD")
_BEARER: Final = {"WWW-Authenticate": "Bearer"}


def _authorized(request: Request, token: str | None) -> bool:
    if token is None:
        return True
    try:
        given = bearer_token(request.headers.get("authorization"))
    except InvalidToken:
        return False
    return hmac.compare_digest(given.encode(), token.encode())


async def metrics(request: Request) -> Response:
    state = app_state(request)
    if state.metrics is None:
        return error_response(404, "not_found", "not found")
    if request.method not in _READ:
        allow = {"Allow": ", ".join(_READ)}
        return error_response(405, "method_not_allowed", "method not allowed", allow)
    if not _authorized(request, state.settings.metrics_token):
        return error_response(401, "unauthorized", "missing or wrong metrics token", _BEARER)
    return Response(
        state.metrics.render(),
        media_type=CONTENT_TYPE_PLAIN_0_0_4,
        headers={"Cache-Control": "no-store"},
    )


def metrics_route() -> Route:
    """The route, taking every method (a 404 whatever the method while off); the app adds it
    beside the page's, outside the OpenAPI table."""
    return Route("/metrics", Endpoint(metrics), include_in_schema=False)
