"""Every failure becomes the contract's error body: {"error": {"code", "message"}}."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Final

import asyncpg
import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from faceplate.api.schemas import ErrorBody, ErrorDetail
from faceplate.errors import (
    AuthorizationRequired,
    Conflict,
    FaceplateError,
    Invalid,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    Unavailable,
    UpstreamError,
)
from faceplate.logs import request_id as current_request_id
from faceplate.web.bodies import JSONResponse

_log = logging.getLogger(__name__)

_STATUS: Final[tuple[tuple[type[FaceplateError], int, str], ...]] = (
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (Invalid, 422, "validation_error"),
    (PayloadTooLarge, 413, "payload_too_large"),
    (Unauthorized, 401, "unauthorized"),
    (Unavailable, 503, "unavailable"),
    (UpstreamError, 502, "upstream_error"),
    (AuthorizationRequired, 424, "authorization_required"),
    (RateLimited, 429, "rate_limited"),
)
_HTTP_CODES: Final = {
    404: "not_found",
    405: "method_not_allowed",
    400: "bad_request",
    401: "unauthorized",
}
_BEARER: Final = {"WWW-Authenticate": "Bearer"}


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    body = ErrorBody(error=ErrorDetail(code=code, message=message))
    return JSONResponse(body, status_code=status, headers=headers)


def domain_response(exc: FaceplateError) -> Response | None:
    """The error body of a domain error, or None for one no status is mapped to."""
    for kind, status, code in _STATUS:
        if isinstance(exc, kind):
            headers = _BEARER if status == 401 else None
            if isinstance(exc, RateLimited):
                headers = {"Retry-After": str(exc.retry_after_s)}
            return error_response(status, code, exc.message, headers)
    return None


def decode_response(exc: msgspec.DecodeError) -> Response:
    """400 for a body that is not JSON, 422 naming the field for one of the wrong shape."""
    if isinstance(exc, msgspec.ValidationError):
        return error_response(422, "validation_error", str(exc))
    return error_response(400, "invalid_json", "request body is not valid JSON")


async def _domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FaceplateError)
    return domain_response(exc) or await _unexpected(request, exc)


async def _decode(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, msgspec.DecodeError)
    return decode_response(exc)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    return error_response(exc.status_code, code, str(exc.detail).lower(), exc.headers)


async def _database_away(request: Request, exc: Exception) -> Response:
    _log.warning("database unavailable during %s %s: %r", request.method, request.url.path, exc)
    return error_response(503, "unavailable", "database unavailable")


async def _unexpected(request: Request, exc: Exception) -> Response:
    request_id = current_request_id() or uuid.uuid4().hex
    _log.error(
        "unexpected error, request %s, %s %s",
        request_id,
        request.method,
        request.url.path,
        exc_info=exc,
    )
    return error_response(500, "internal_error", f"internal error (request {request_id})")


ExceptionHandler = Callable[[Request, Exception], Coroutine[Any, Any, Response]]
"""An exception handler: `fn(request, exc) -> response`."""

EXCEPTION_HANDLERS: Final[dict[Any, ExceptionHandler]] = {
    FaceplateError: _domain,
    msgspec.DecodeError: _decode,
    HTTPException: _http,
    asyncpg.PostgresConnectionError: _database_away,
    asyncpg.InterfaceError: _database_away,
    asyncpg.CannotConnectNowError: _database_away,
    asyncpg.TooManyConnectionsError: _database_away,
    Exception: _unexpected,
}
