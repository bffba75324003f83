"""Conversations and their messages."""

from __future__ import annotations

from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from faceplate.api.schemas import CreateConversation, RenameConversation
from faceplate.state import app_state
from faceplate.web.bodies import JSONResponse, decode_body, path_id, query_limit
from faceplate.web.identity import current_user

_CREATE: Final = msgspec.json.Decoder(CreateConversation)
_RENAME: Final = msgspec.json.Decoder(RenameConversation)


async def create_conversation(request: Request) -> Response:
    user = await current_user(request)
    body = await decode_body(request, _CREATE)
    conv = await app_state(request).conversations.create(user, body.title)
    return JSONResponse(conv, status_code=201)


async def list_conversations(request: Request) -> Response:
    user = await current_user(request)
    limit = query_limit(request)
    cursor = request.query_params.get("cursor")
    page = await app_state(request).conversations.page(user, limit, cursor)
    return JSONResponse(page)


async def get_conversation(request: Request) -> Response:
    user = await current_user(request)
    conv = await app_state(request).conversations.get(user, path_id(request))
    return JSONResponse(conv)


async def rename_conversation(request: Request) -> Response:
    user = await current_user(request)
    conversation_id = path_id(request)
    body = await decode_body(request, _RENAME)
    conv = await app_state(request).conversations.rename(user, conversation_id, body.title)
    return JSONResponse(conv)


async def delete_conversation(request: Request) -> Response:
    user = await current_user(request)
    conversation_id = path_id(request)
    await app_state(request).conversations.delete(user, conversation_id)
    return Response(status_code=204)


async def list_messages(request: Request) -> Response:
    user = await current_user(request)
    conversation_id = path_id(request)
    limit = query_limit(request)
    cursor = request.query_params.get("cursor")
    page = await app_state(request).conversations.messages(user, conversation_id, limit, cursor)
    return JSONResponse(page)
