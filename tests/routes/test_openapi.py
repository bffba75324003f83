from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from faceplate.api.schemas import Status
from faceplate.app import create_app
from faceplate.routes.table import ROUTES
from faceplate.web.failures import EXCEPTION_HANDLERS
from faceplate.web.openapi import Op, build_document
from faceplate.web.route_table import HttpRoute, RouteTable
from faceplate.web.stack import App


async def _ok(request: Request) -> Response:
    return Response()


def test_every_http_route_of_the_app_is_in_the_document(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    served = {
        (method.lower(), route.path)
        for route in create_app().routes
        if isinstance(route, Route) and route.include_in_schema and route.path != "/openapi.json"
        for method in route.methods or ()
        if method != "HEAD"  # Starlette answers HEAD for every GET
    }
    documented = {(m, path) for path, methods in document["paths"].items() for m in methods}
    assert served == documented
    assert {("get", "/v1/me"), ("delete", "/v1/mcp-configs/{id}")} <= served  # not vacuous


def test_a_plain_route_cannot_join_the_table_undocumented() -> None:
    with pytest.raises(ValueError, match="no OpenAPI operation"):
        build_document([*ROUTES, Route("/v1/secret", _ok, methods=["GET"])])


def test_a_route_declared_twice_is_refused() -> None:
    twice = [HttpRoute("GET", "/x", _ok, Op(summary="x", result=Status))] * 2
    with pytest.raises(ValueError, match="twice"):
        build_document(twice)


def test_the_app_sets_what_starlette_itself_sets() -> None:
    """App sets Starlette's attributes itself to take its router; a new one would be missed."""
    app = App(RouteTable(ROUTES), exception_handlers=EXCEPTION_HANDLERS)
    assert set(vars(app)) == set(vars(Starlette()))
    assert isinstance(app.router, RouteTable)
