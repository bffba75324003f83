"""HTTP requests and WebSockets counted for `/metrics`, when the metrics are on."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faceplate.metrics.registry import UNMATCHED

if TYPE_CHECKING:
    from faceplate.metrics import Metrics


def _metrics(scope: Scope) -> Metrics | None:
    state = scope.get("state")
    app_state = state.get("faceplate") if state else None
    metrics: Metrics | None = None if app_state is None else app_state.metrics
    return metrics


class Measured:
    """Times each HTTP request, labelled by its route's template (set in the scope by the
    router: `/v1/conversations/{id}`, never the path itself) and status, and counts the
    WebSockets being served. Off (`FACEPLATE_METRICS=false`), it only passes requests on.

    It sits inside the request-id layer and outside the 500 handler, so a fault's 500 counts.
    A request that never answered (the client left first) is not counted.
    """

    __slots__ = ("_app",)

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        metrics = _metrics(scope) if kind != "lifespan" else None
        if metrics is None:
            await self._app(scope, receive, send)
        elif kind == "http":
            # Inline rather than a coroutine of its own, and `sending` a plain function handing
            # back send's awaitable: no frame more per request or per message than needed.
            started = time.perf_counter()
            status = 0

            def sending(message: Message) -> Awaitable[None]:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                return send(message)

            try:
                await self._app(scope, receive, sending)
            finally:
                if status:
                    route = scope.get("route")
                    template = getattr(route, "path", None) or UNMATCHED
                    metrics.http(scope["method"], template, status, time.perf_counter() - started)
        else:
            # Counted from the upgrade to the handler's return: every socket is accepted
            # (CONTRACT §10), and its frames pass with no wrapper in between.
            metrics.socket_opened()
            try:
                await self._app(scope, receive, send)
            finally:
                metrics.socket_closed()
