"""The signed-in user, and the tokens they spent."""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from faceplate.api.schemas import Me
from faceplate.errors import Invalid
from faceplate.state import app_state
from faceplate.web.bodies import JSONResponse
from faceplate.web.identity import current_user

_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


async def get_me(request: Request) -> Response:
    user = await current_user(request)
    return JSONResponse(Me(id=user.id, email=user.email, created_at=user.created_at))


def _day(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        if not _DAY.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"{name} must be a date, YYYY-MM-DD") from None


async def get_usage(request: Request) -> Response:
    user = await current_user(request)
    report = await app_state(request).usage.report(user, _day(request, "from"), _day(request, "to"))
    return JSONResponse(report)
