"""stdio MCP servers: the operator's list, the sandbox they run in, and their transport."""

from __future__ import annotations
