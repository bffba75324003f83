"""The MCP client layer: address checks, tool naming, live sessions and the turn's tool source."""

from __future__ import annotations
