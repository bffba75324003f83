"""The MCP test server over stdio: `python stdio_server.py`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.mcp_client.toolbox import build_server


def log_event(kind: str, label: str) -> None:
    """Append `kind label` to the file named by MCP_TEST_EVENTS, so a test can read it."""
    path = os.environ.get("MCP_TEST_EVENTS")
    if path:
        with open(path, "a") as events:
            events.write(f"{kind} {label}\n")


if __name__ == "__main__":
    build_server(log_event).run("stdio")
