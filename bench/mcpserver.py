"""An MCP server for the bench (the `mcp` SDK, streamable HTTP), optionally "far away".

Run as `python -m bench.mcpserver PORT DELAY_MS`: every HTTP request waits DELAY_MS before the
server sees it, as if the server were that many milliseconds of round trip away. It offers a
handful of tools with realistic schemas; the turns of the bench never call them.
"""

from __future__ import annotations

import asyncio
import sys

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send


def build() -> MCPServer:
    server = MCPServer("bench", log_level="WARNING")

    @server.tool(description="Search the documents of the workspace by words and filters.")
    def search(query: str, limit: int = 20, include_archived: bool = False) -> str:
        return query

    @server.tool(description="Read a file of the workspace, optionally a range of its lines.")
    def read_file(path: str, first_line: int = 1, last_line: int | None = None) -> str:
        return path

    @server.tool(description="The values of a range of cells of a spreadsheet.")
    def get_range(sheet_id: str, range: str, as_formulas: bool = False) -> str:
        return range

    @server.tool(description="Create an issue in the tracker with a title, a body and labels.")
    def create_issue(title: str, body: str, labels: list[str] | None = None) -> str:
        return title

    @server.tool(description="The weather forecast of a place for the coming days.")
    def forecast(place: str, days: int = 3) -> str:
        return place

    return server


def delayed(app: ASGIApp, delay_s: float) -> ASGIApp:
    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and delay_s > 0:
            await asyncio.sleep(delay_s)
        await app(scope, receive, send)

    return wrapper


def main() -> None:
    port, delay_ms = int(sys.argv[1]), float(sys.argv[2])
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    app = build().streamable_http_app(transport_security=security)
    uvicorn.run(delayed(app, delay_ms / 1000), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
