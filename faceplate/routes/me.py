"""The signed-in user."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from faceplate.api.schemas import Me
from faceplate.web.bodies import JSONResponse
from faceplate.web.identity import current_user


async def get_me(request: Request) -> Response:
    user = await current_user(request)
    return JSONResponse(Me(id=user.id, email=user.email, created_at=user.created_at))
