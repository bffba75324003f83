"""The MCP server the browser tests give the model: arithmetic, echo, a question, two tools
whose annotations matter to approval. Served over streamable HTTP by the SDK."""

from __future__ import annotations

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field


class Colour(BaseModel):
    colour: str = Field(description="Your favourite colour")
    sure: bool = Field(default=False, description="Quite sure?")


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

    @server.tool(description="Ask the person for their favourite colour.")
    async def ask_colour(ctx: Context) -> str:
        answer = await ctx.elicit("Which colour do you like best?", Colour)
        if answer.action != "accept" or answer.data is None:
            return f"no colour ({answer.action})"
        return f"colour {answer.data.colour}, sure: {answer.data.sure}"

    return server
