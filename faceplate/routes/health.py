"""Liveness and readiness."""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from faceplate.api.schemas import Status
from faceplate.state import app_state
from faceplate.web.bodies import JSONResponse

_OK: Final = Status(status="ok")
_READY: Final = Status(status="ready")


async def healthz(request: Request) -> Response:
    return JSONResponse(_OK)


async def readyz(request: Request) -> Response:
    await app_state(request).health.check_ready()
    return JSONResponse(_READY)
