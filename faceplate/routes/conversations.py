"""Conversations and their messages."""

from __future__ import annotations

from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from faceplate.api.schemas import CreateConversation, PatchConversation, SetActiveMessage
from faceplate.errors import Invalid
from faceplate.services.conversations import ConversationPatch
from faceplate.state import app_state
from faceplate.web.bodies import JSONResponse, decode_body, path_id, query_limit
from faceplate.web.identity import current_user

_CREATE: Final = msgspec.json.Decoder(CreateConversation)
_PATCH: Final = msgspec.json.Decoder(PatchConversation)
_ACTIVE: Final = msgspec.json.Decoder(SetActiveMessage)
MAX_QUERY_CHARS: Final = 1000


def _archived(request: Request) -> bool:
    raw = request.query_params.get("archived")
    if raw is None or raw == "false":
        return False
    if raw == "true":
        return True
    raise Invalid("archived must be true or false")


def _query(request: Request) -> str | None:
    raw = request.query_params.get("q")
    if raw is None or not raw.strip():
        return None
    if len(raw) > MAX_QUERY_CHARS:
        raise Invalid(f"q must be at most {MAX_QUERY_CHARS} characters")
    return raw


async def create_conversation(request: Request) -> Response:
    user = await current_user(request)
    body = await decode_body(request, _CREATE)
    conv = await app_state(request).conversations.create(user, body.title, body.model)
    return JSONResponse(conv, status_code=201)


async def list_conversations(request: Request) -> Response:
    user = await current_user(request)
    limit = query_limit(request)
    cursor = request.query_params.get("cursor")
    page = await app_state(request).conversations.page(
        user, limit, cursor, archived=_archived(request), query=_query(request)
    )
    return JSONResponse(page)


async def get_conversation(request: Request) -> Response:
    user = await current_user(request)
    conv = await app_state(request).conversations.get(user, path_id(request))
    return JSONResponse(conv)


async def patch_conversation(request: Request) -> Response:
    user = await current_user(request)
    conversation_id = path_id(request)
    body = await decode_body(request, _PATCH)
    patch = ConversationPatch(title=body.title, model=body.model, archived=body.archived)
    conv = await app_state(request).conversations.patch(user, conversation_id, patch)
    return JSONResponse(conv)


async def set_active_message(request: Request) -> Response:
    user = await current_user(request)
    conversation_id = path_id(request)
    body = await decode_body(request, _ACTIVE)
    conversations = app_state(request).conversations
    conv = await conversations.set_active(user, conversation_id, body.message_id)
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


async def list_models(request: Request) -> Response:
    await current_user(request)
    return JSONResponse(app_state(request).models.listing)
