"""Domain errors, each with its default message as docstring.

Exception tree:
* FaceplateError
  x NotFound
  x Conflict
  x Invalid
  x PayloadTooLarge
  x Unauthorized
  x Unavailable
  x UpstreamError
  x AuthorizationRequired
  x RateLimited
"""

from __future__ import annotations


class FaceplateError(Exception):
    """Unexpected faceplate error."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.__doc__)

    @property
    def message(self) -> str:
        return str(self.args[0])


class NotFound(FaceplateError):
    """Not found."""


class Conflict(FaceplateError):
    """A row with the same natural key already exists."""


class Invalid(FaceplateError):
    """The request is not valid."""


class PayloadTooLarge(FaceplateError):
    """The request body is over 1 MiB."""


class Unauthorized(FaceplateError):
    """Missing or invalid bearer token."""


class Unavailable(FaceplateError):
    """The database is unavailable."""


class UpstreamError(FaceplateError):
    """An upstream server failed."""


class AuthorizationRequired(FaceplateError):
    """The MCP server needs the user to authorize Faceplate first."""


class RateLimited(FaceplateError):
    """Too many requests: a per-user limit was reached."""

    def __init__(self, message: str | None = None, *, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)
