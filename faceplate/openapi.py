"""GET /openapi.json: an OpenAPI 3.1 document built from the structs the routes use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from faceplate.api.pages import Page
from faceplate.api.schemas import (
    CreateConversation,
    CreateMcpConfig,
    ErrorBody,
    Me,
    PatchMcpConfig,
    RenameConversation,
    Status,
    ToolList,
)
from faceplate.structs import Conversation, McpConfig, Message


class Op(msgspec.Struct, frozen=True, kw_only=True):
    """One REST operation as the document shows it."""

    summary: str
    body: Any = None
    result: Any = None
    status: int = 200
    auth: bool = True
    paged: bool = False
    errors: tuple[int, ...] = ()


_OPS: Final[dict[tuple[str, str], Op]] = {
    ("/healthz", "GET"): Op(summary="Liveness", result=Status, auth=False),
    ("/readyz", "GET"): Op(
        summary="Readiness: database answers, schema at head",
        result=Status,
        auth=False,
        errors=(503,),
    ),
    ("/v1/me", "GET"): Op(summary="The signed-in user", result=Me, errors=(409,)),
    ("/v1/conversations", "POST"): Op(
        summary="Create a conversation", body=CreateConversation, result=Conversation, status=201
    ),
    ("/v1/conversations", "GET"): Op(
        summary="Conversations, most recently updated first",
        result=Page[Conversation],
        paged=True,
    ),
    ("/v1/conversations/{id}", "GET"): Op(summary="One conversation", result=Conversation),
    ("/v1/conversations/{id}", "PATCH"): Op(
        summary="Rename a conversation", body=RenameConversation, result=Conversation
    ),
    ("/v1/conversations/{id}", "DELETE"): Op(
        summary="Delete a conversation, its messages and its running turn", status=204
    ),
    ("/v1/conversations/{id}/messages", "GET"): Op(
        summary="Messages, oldest first", result=Page[Message], paged=True
    ),
    ("/v1/mcp-configs", "POST"): Op(
        summary="Create an MCP server config",
        body=CreateMcpConfig,
        result=McpConfig,
        status=201,
        errors=(409,),
    ),
    ("/v1/mcp-configs", "GET"): Op(
        summary="MCP server configs by name", result=Page[McpConfig], paged=True
    ),
    ("/v1/mcp-configs/{id}", "GET"): Op(summary="One MCP server config", result=McpConfig),
    ("/v1/mcp-configs/{id}", "PATCH"): Op(
        summary="Change an MCP server config; '********' keeps a stored secret",
        body=PatchMcpConfig,
        result=McpConfig,
        errors=(409,),
    ),
    ("/v1/mcp-configs/{id}", "DELETE"): Op(summary="Delete an MCP server config", status=204),
    ("/v1/mcp-configs/{id}/tools", "GET"): Op(
        summary="The server's live tools", result=ToolList, errors=(502,)
    ),
}

_ERROR_TEXT: Final = {
    400: "Body is not JSON",
    401: "Missing, invalid or expired token",
    404: "No such resource, or not yours",
    409: "Conflict",
    413: "Body over 1 MiB",
    422: "Validation error",
    502: "Upstream failure",
    503: "Database unavailable",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def build_document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document of every route in `routes` that has an entry in _OPS."""
    types: list[Any] = [ErrorBody]
    for op in _OPS.values():
        types.extend(t for t in (op.body, op.result) if t is not None)
    schemas, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}"
    )
    schema_of = dict(zip([id(t) for t in types], schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not isinstance(route, Route):
            continue
        for method in sorted(route.methods or ()):
            found = _OPS.get((route.path, method))
            if found is None:
                continue
            paths.setdefault(route.path, {})[method.lower()] = _operation(
                route.path, method, found, schema_of
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
        codes |= {401, 503}
    if "{id}" in path:
        codes.add(404)
    if op.body is not None:
        codes |= {400, 413, 422}
    if op.paged:
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
    """The /openapi.json route; the document is built once."""
    document = msgspec.json.encode(build_document(routes))

    async def openapi(request: Request) -> Response:
        return Response(document, media_type="application/json")

    return Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False)
