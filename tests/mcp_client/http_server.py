"""The MCP test server over streamable HTTP in its own process: `python http_server.py PORT`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import uvicorn

from tests.mcp_client.toolbox import build_server

if __name__ == "__main__":
    app = build_server().streamable_http_app()
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
