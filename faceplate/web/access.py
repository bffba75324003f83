"""The access log's seam in the app: one line per HTTP request, when its response starts."""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faceplate.logs import AccessHandler


class AccessLog:
    """Hands each HTTP request's scope and status to the access log as its response starts.

    Inside the layer that gives the request its id, so the line carries it. A request whose
    client leaves before any response has no line (as with uvicorn's own access log).
    """

    __slots__ = ("_app", "_log")

    def __init__(self, app: ASGIApp, log: AccessHandler) -> None:
        self._app = app
        self._log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        log = self._log

        def logged(message: Message) -> Awaitable[None]:
            # A plain function handing back send's awaitable: no coroutine more per message.
            if message["type"] == "http.response.start":
                log.request(scope, message["status"])
            return send(message)

        await self._app(scope, receive, logged)
