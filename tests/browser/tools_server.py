"""The MCP server the browser tests give the model: arithmetic, echo, a question, two tools
whose annotations matter to approval. Served over streamable HTTP by the SDK."""

from __future__ import annotations

from typing import Annotated

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Elicit, MCPServer, Resolve
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field


class Colour(BaseModel):
    colour: str = Field(description="Your favourite colour")
    sure: bool = Field(default=False, description="Quite sure?")


def _ask_colour() -> Elicit[Colour]:
    return Elicit("Which colour do you like best?", Colour)


def build_tools_server() -> MCPServer:
    server = MCPServer("browser-tests", log_level="WARNING")

    @server.tool(description="Add two integers.")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="Echo the text back.")
    def echo(text: str) -> str:
        return text

    @server.tool(description="Read a note.", annotations=ToolAnnotations(readOnlyHint=True))
    def read_note(name: str) -> str:
        return f"note {name}: nothing yet"

    @server.tool(description="Delete a note.", annotations=ToolAnnotations(destructiveHint=True))
    def delete_note(name: str) -> str:
        return f"deleted {name}"

    # A resolver, not ctx.elicit: it asks over either protocol generation (a 2026 server
    # answers InputRequiredResult; a 2025 one sends elicitation/create during the call).
    @server.tool(description="Ask the person for their favourite colour.")
    async def ask_colour(
        answer: Annotated[ElicitationResult[Colour], Resolve(_ask_colour)],
    ) -> str:
        if answer.action != "accept":
            return f"no colour ({answer.action})"
        return f"colour {answer.data.colour}, sure: {answer.data.sure}"

    return server
