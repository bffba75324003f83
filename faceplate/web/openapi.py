"""The OpenAPI 3.1 document, built from the route table: each HttpRoute carries its operation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from faceplate.api.schemas import ErrorBody
from faceplate.web.route_table import HttpRoute


class QueryParam(msgspec.Struct, frozen=True, kw_only=True):
    """An optional query parameter of an operation, with its JSON schema."""

    name: str
    description: str
    schema: dict[str, Any]


class Op(msgspec.Struct, frozen=True, kw_only=True):
    """One REST operation as the document shows it.

    `body` and `result` are the msgspec types of the request and success bodies; 401, 429 and
    503 are added for `auth`, 404 for a path with `{id}`, 400/413/422 for a body, 422 for `paged`
    (whose `limit` and `cursor` are documented), 422 for `query` parameters; `errors` adds the
    others the route answers.
    """

    summary: str
    body: Any = None
    result: Any = None
    status: int = 200
    auth: bool = True
    paged: bool = False
    query: tuple[QueryParam, ...] = ()
    errors: tuple[int, ...] = ()


_ERROR_TEXT: Final = {
    400: "Body is not JSON",
    401: "Missing, invalid or expired token",
    404: "No such resource, or not yours",
    409: "Conflict",
    413: "Body over 1 MiB",
    422: "Validation error",
    424: "The MCP server needs the user to authorize Faceplate first",
    429: "Too many requests: the user's limit; Retry-After says when to try again",
    502: "Upstream failure",
    503: "Database unavailable, or the token issuer's keys not fetched yet",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _operations(routes: Sequence[BaseRoute]) -> list[HttpRoute]:
    """The declared REST routes; an HTTP route declared without its operation is an error."""
    declared: list[HttpRoute] = []
    seen: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, HttpRoute):
            if (route.path, route.method) in seen:
                raise ValueError(f"{route.method} {route.path} is declared twice")
            seen.add((route.path, route.method))
            declared.append(route)
        elif isinstance(route, Route) and route.include_in_schema:
            raise ValueError(f"{route.path} has no OpenAPI operation: declare it as an HttpRoute")
    return declared


def build_document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document of every HttpRoute in `routes`.

    Raises ValueError for an HTTP route that is neither an HttpRoute nor left out of the schema
    on purpose (`include_in_schema=False`), so no route can vanish from the document unseen.
    """
    declared = _operations(routes)
    types: list[Any] = [ErrorBody]
    for route in declared:
        types.extend(t for t in (route.op.body, route.op.result) if t is not None)
    schemas, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}"
    )
    schema_of = dict(zip([id(t) for t in types], schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for route in declared:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(
            route.path, route.method, route.op, schema_of
        )
    return {
        "openapi": "3.1.0",
        "info": {"title": "Faceplate", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(path: str, method: str, op: Op, schema_of: dict[int, Any]) -> dict[str, Any]:
    error = {"application/json": {"schema": _ref("ErrorBody")}}
    success: dict[str, Any] = {"description": op.summary}
    if op.result is not None:
        success["content"] = {"application/json": {"schema": schema_of[id(op.result)]}}
    responses: dict[str, Any] = {str(op.status): success}
    codes = set(op.errors)
    if op.auth:
        codes |= {401, 429, 503}
    if "{id}" in path:
        codes.add(404)
    if op.body is not None:
        codes |= {400, 413, 422}
    if op.paged or op.query:
        codes.add(422)
    for code in sorted(codes):
        responses[str(code)] = {"description": _ERROR_TEXT[code], "content": error}
    operation: dict[str, Any] = {
        "summary": op.summary,
        "operationId": _operation_id(method, path),
        "responses": responses,
    }
    parameters: list[dict[str, Any]] = []
    if "{id}" in path:
        parameters.append(
            {
                "name": "id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "format": "uuid"},
            }
        )
    if op.paged:
        parameters.append(
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
            }
        )
        parameters.append(
            {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}}
        )
    for param in op.query:
        parameters.append(
            {
                "name": param.name,
                "in": "query",
                "required": False,
                "description": param.description,
                "schema": param.schema,
            }
        )
    if parameters:
        operation["parameters"] = parameters
    if op.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema_of[id(op.body)]}},
        }
    if op.auth:
        operation["security"] = [{"bearer": []}]
    return operation


def _operation_id(method: str, path: str) -> str:
    words = [w.strip("{}").replace("-", "_") for w in path.strip("/").split("/")]
    return "_".join([method.lower(), *words])


def openapi_route(routes: Sequence[BaseRoute]) -> Route:
    """The /openapi.json route serving the document of `routes`, built once, here."""
    document = msgspec.json.encode(build_document(routes))

    async def openapi(request: Request) -> Response:
        return Response(document, media_type="application/json")

    return Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False)
