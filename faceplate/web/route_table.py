"""The routes as declared, and Starlette's router with a direct lookup for HTTP routes: no
regex walk per request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute, Route, Router
from starlette.types import Receive, Scope, Send

from faceplate.web.endpoint import Endpoint, RequestHandler

if TYPE_CHECKING:
    from faceplate.web.openapi import Op

# A path template as segments: a literal, or None where a "{param}" stands.
Shape = tuple[str | None, ...]


class HttpRoute(Route):
    """One REST route, declared once: its method, path, handler and OpenAPI operation.

    The handler runs as an `Endpoint`; `/openapi.json` is built from these same objects.
    """

    def __init__(self, method: str, path: str, handler: RequestHandler, op: Op) -> None:
        super().__init__(path, Endpoint(handler), methods=[method])
        self.method = method.upper()
        self.op = op


class RouteTable(Router):
    """Finds an HTTP route by method and path segments in a dict; everything else (lifespan,
    WebSocket, 404, 405, slash redirects) is Starlette's own routing, unchanged.

    Only plain `{name}` parameters (Starlette's `str` convertor: one non-empty segment) are
    supported in the table; a route using another convertor is left to Starlette.
    """

    def __init__(self, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(routes=routes, **kwargs)
        self._shapes: dict[int, list[tuple[Shape, dict[str, Route], tuple[str, ...]]]] = {}
        for route in routes:
            if isinstance(route, Route) and route.methods:
                self._add(route)

    def _add(self, route: Route) -> None:
        if any(c.__class__.__name__ != "StringConvertor" for c in route.param_convertors.values()):
            return
        shape: list[str | None] = []
        names: list[str] = []
        for segment in route.path.strip("/").split("/"):
            if segment.startswith("{") and segment.endswith("}"):
                shape.append(None)
                names.append(segment[1:-1])
            else:
                shape.append(segment)
        entries = self._shapes.setdefault(len(shape), [])
        for known, methods, _ in entries:
            if known == tuple(shape):
                methods.update(dict.fromkeys(route.methods or (), route))
                return
        entries.append((tuple(shape), dict.fromkeys(route.methods or (), route), tuple(names)))

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            segments = scope["path"][1:].split("/")
            for shape, methods, names in self._shapes.get(len(segments), ()):
                params = _match(shape, names, segments)
                if params is None:
                    continue
                route = methods.get(scope["method"])
                if route is None:
                    break  # the path exists, the method does not: Starlette answers 405
                scope["router"] = self
                scope["route"] = route
                scope["endpoint"] = route.endpoint
                scope["path_params"] = params
                await route.app(scope, receive, send)
                return
        await super().app(scope, receive, send)


def _match(shape: Shape, names: tuple[str, ...], segments: list[str]) -> dict[str, Any] | None:
    params: dict[str, Any] = {}
    index = 0
    for literal, segment in zip(shape, segments, strict=True):
        if literal is None:
            if not segment:
                return None
            params[names[index]] = segment
            index += 1
        elif literal != segment:
            return None
    return params
