"""Route handlers `fn(request) -> response` as plain ASGI apps, expected errors answered inline."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from faceplate.errors import FaceplateError
from faceplate.web.failures import decode_response, domain_response

RequestHandler = Callable[[Request], Awaitable[Response]]
"""A route handler: `fn(request) -> response`."""


class Endpoint:
    """A handler Starlette calls as an ASGI app, skipping its per-route exception wrapper.

    Domain and body-decoding errors become their error bodies here; anything else goes on to
    the app's exception handlers (a logged 500). Runs on every request, so it stays small.
    """

    __slots__ = ("__name__", "_handler")

    def __init__(self, handler: RequestHandler) -> None:
        self._handler = handler
        self.__name__ = handler.__name__

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self._handler(Request(scope, receive, send))
        except FaceplateError as e:
            answer = domain_response(e)
            if answer is None:
                raise
            response = answer
        except msgspec.DecodeError as e:
            response = decode_response(e)
        await response(scope, receive, send)
