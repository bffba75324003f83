"""The MCP client: talking to the MCP servers users configured — address and command checks,
transports, connections and sessions, the tool catalog a turn offers, naming and results,
and OAuth of the servers that need it (oauth/).

(Not to be confused with `turns/tools.py`, which runs one model step's tool calls inside a
turn, nor with `agents.base.ToolSpec`, a tool as offered to the model.)
"""

from __future__ import annotations
