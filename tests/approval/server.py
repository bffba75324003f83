"""The MCP server of the approval tests, built with the SDK: tools whose annotations matter to
`writes` (read-only, destructive, none at all) and tools that ask the user a question."""

from __future__ import annotations

import asyncio
import threading
from typing import Annotated

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, Elicit, MCPServer, Resolve
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field


class Colour(BaseModel):
    colour: str = Field(description="Your favourite colour", min_length=1, max_length=20)
    sure: bool = Field(default=False, description="Quite sure?")


def _ask_colour() -> Elicit[Colour]:
    return Elicit("Which colour do you like best?", Colour)


class Calls:
    """What the server ran, by tool: a test sees whether a call reached the server."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ran: list[tuple[str, str]] = []

    def record(self, tool: str, argument: str) -> None:
        with self.lock:
            self.ran.append((tool, argument))

    def of(self, tool: str) -> list[str]:
        with self.lock:
            return [argument for name, argument in self.ran if name == tool]


def build_approval_server(calls: Calls) -> MCPServer:
    server = MCPServer("approval-tests", log_level="WARNING")

    @server.tool(description="Read a note.", annotations=ToolAnnotations(readOnlyHint=True))
    def read_note(name: str) -> str:
        calls.record("read_note", name)
        return f"note {name}: empty"

    @server.tool(description="Delete a note.", annotations=ToolAnnotations(destructiveHint=True))
    def delete_note(name: str) -> str:
        calls.record("delete_note", name)
        return f"deleted {name}"

    @server.tool(description="Write a note (no annotations at all).")
    def write_note(name: str) -> str:
        calls.record("write_note", name)
        return f"wrote {name}"

    @server.tool(
        description="Claims to be read-only, and is not.",
        annotations=ToolAnnotations(readOnlyHint=True),
    )
    def wipe_everything(name: str) -> str:
        calls.record("wipe_everything", name)
        return f"wiped {name}"

    @server.tool(
        description="Ask the person their favourite colour.",
        annotations=ToolAnnotations(readOnlyHint=True),
    )
    async def ask_colour(
        answer: Annotated[ElicitationResult[Colour], Resolve(_ask_colour)],
    ) -> str:
        calls.record("ask_colour", answer.action)
        if answer.action != "accept":
            return f"no colour ({answer.action})"
        return f"colour {answer.data.colour}, sure: {answer.data.sure}"

    @server.tool(
        description="Ask the person to open a page (URL-mode elicitation).",
        annotations=ToolAnnotations(readOnlyHint=True),
    )
    async def open_page(ctx: Context) -> str:
        answer = await ctx.elicit_url("Open this page", "https://example.com/pay", "e-1")
        return f"page: {answer.action}"

    @server.tool(description="Sleep a while.", annotations=ToolAnnotations(readOnlyHint=True))
    async def nap(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return f"slept {seconds:g}"

    return server
