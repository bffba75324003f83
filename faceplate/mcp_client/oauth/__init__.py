"""OAuth for MCP servers: discovery, client registration, the two-phase flow and its tokens."""

from __future__ import annotations
