"""Errors of the MCP client layer, each with its default message as docstring.

Exception tree:
* FaceplateError
  x ToolError
    x RefusedAddress      (also Invalid)
    x CommandNotAllowed   (also Invalid)
    x ToolUnavailable     (also UpstreamError)
"""

from __future__ import annotations

from faceplate.errors import FaceplateError, Invalid, UpstreamError


class ToolError(FaceplateError):
    """An MCP tool server could not be used."""


class RefusedAddress(ToolError, Invalid):
    """The MCP server URL is not allowed."""


class CommandNotAllowed(ToolError, Invalid):
    """The stdio server is not one the operator offers."""


class ToolUnavailable(ToolError, UpstreamError):
    """The MCP server could not be reached or did not speak MCP."""
