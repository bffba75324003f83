"""MCP server configs and their live tools."""

from __future__ import annotations

from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from faceplate.api.schemas import CreateMcpConfig, PatchMcpConfig
from faceplate.state import app_state
from faceplate.web.bodies import JSONResponse, decode_body, path_id, query_limit
from faceplate.web.identity import current_user

_CREATE: Final = msgspec.json.Decoder(CreateMcpConfig)
_PATCH: Final = msgspec.json.Decoder(PatchMcpConfig)


async def create_mcp_config(request: Request) -> Response:
    user = await current_user(request)
    body = await decode_body(request, _CREATE)
    config = await app_state(request).mcp_configs.create(user, body)
    return JSONResponse(config, status_code=201)


async def list_mcp_configs(request: Request) -> Response:
    user = await current_user(request)
    limit = query_limit(request)
    cursor = request.query_params.get("cursor")
    page = await app_state(request).mcp_configs.page(user, limit, cursor)
    return JSONResponse(page)


async def get_mcp_config(request: Request) -> Response:
    user = await current_user(request)
    config = await app_state(request).mcp_configs.get(user, path_id(request))
    return JSONResponse(config)


async def patch_mcp_config(request: Request) -> Response:
    user = await current_user(request)
    config_id = path_id(request)
    body = await decode_body(request, _PATCH)
    config = await app_state(request).mcp_configs.update(user, config_id, body)
    return JSONResponse(config)


async def delete_mcp_config(request: Request) -> Response:
    user = await current_user(request)
    await app_state(request).mcp_configs.delete(user, path_id(request))
    return Response(status_code=204)


async def list_tools(request: Request) -> Response:
    user = await current_user(request)
    tools = await app_state(request).mcp_configs.live_tools(user, path_id(request))
    return JSONResponse(tools)


async def start_oauth(request: Request) -> Response:
    user = await current_user(request)
    started = await app_state(request).mcp_oauth.start(user, path_id(request))
    return JSONResponse(started)


async def forget_oauth(request: Request) -> Response:
    user = await current_user(request)
    await app_state(request).mcp_oauth.forget(user, path_id(request))
    return Response(status_code=204)
