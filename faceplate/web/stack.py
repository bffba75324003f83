"""The app class: Starlette given its router, with a leaner exception layer for HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

from faceplate.logs import access_handler, new_request_id, new_socket_id
from faceplate.web.access import AccessLog
from faceplate.web.failures import ExceptionHandler
from faceplate.web.measured import Measured


class _Identified:
    """Gives each HTTP request and WebSocket its id (faceplate.logs) before anything runs.

    The server runs each request in a task of its own, so the id set here is that task's and
    its children's, and goes with it.
    """

    __slots__ = ("_app",)

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            new_request_id()
        elif kind == "websocket":
            new_socket_id()
        await self._app(scope, receive, send)  # awaited here: the ids are this task's


class _HandledExceptions:
    """Starlette's ExceptionMiddleware, without its per-request wrapping for HTTP.

    Every HTTP route answers through `Endpoint`, which builds its whole response before it
    sends anything, so an exception that reaches here never follows a started response: the
    handler may answer without watching the sends. WebSockets keep Starlette's middleware.
    """

    def __init__(self, app: ASGIApp, handlers: dict[Any, ExceptionHandler]) -> None:
        self._app = app
        self._full = ExceptionMiddleware(app, handlers=handlers)
        self._handlers: dict[Any, ExceptionHandler] = {**handlers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._full(scope, receive, send)
            return
        try:
            await self._app(scope, receive, send)
        except Exception as exc:
            handler = next(
                (self._handlers[c] for c in type(exc).__mro__ if c in self._handlers), None
            )
            if handler is None:
                raise
            response = await handler(Request(scope, receive, send), exc)
            await response(scope, receive, send)


class App(Starlette):
    """Starlette built with the router it is given, `_HandledExceptions` in place of its
    ExceptionMiddleware, `Measured` (the metrics) around the 500 handler, `_Identified`
    outermost and, when logging has an access log handler, `AccessLog` just inside it.

    Starlette's own `__init__` builds a plain Router from a list of routes; this one sets the
    same attributes (checked by a test against the pinned Starlette) with the given router, so
    the app is built with its route table rather than having it swapped in afterwards.
    """

    def __init__(
        self,
        router: Router,
        *,
        exception_handlers: Mapping[Any, ExceptionHandler],
        debug: bool = False,
    ) -> None:
        self.debug = debug
        self.state = State()
        self.router = router
        self.max_body_size = None
        self.exception_handlers = dict(exception_handlers)
        self.user_middleware = []
        self.middleware_stack = None

    def build_middleware_stack(self) -> ASGIApp:
        error_handler = None
        handlers: dict[Any, ExceptionHandler] = {}
        for key, value in self.exception_handlers.items():
            if key in (500, Exception):
                error_handler = value
            else:
                handlers[key] = cast(ExceptionHandler, value)
        app: ASGIApp = _HandledExceptions(self.router, handlers)
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        errors = ServerErrorMiddleware(app, handler=error_handler, debug=self.debug)
        access = access_handler()  # configured by `faceplate serve` unless --no-access-log
        measured = Measured(errors)
        return _Identified(measured if access is None else AccessLog(measured, access))
