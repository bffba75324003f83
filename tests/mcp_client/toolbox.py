"""The MCP test server's tools, shared by its HTTP, SSE and stdio variants."""

from __future__ import annotations

import base64
import contextlib
import os
import threading
import time
from collections.abc import Callable

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from mcp.shared.exceptions import MCPError
from mcp_types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ResourceLink,
    TextResourceContents,
)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


class Recorder:
    """What a test server saw; written by the server's thread, read by the tests."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[
            tuple[str, str, dict[str, str]]
        ] = []  # (http method, rpc method, headers)
        self.sleeping: list[str] = []
        self.cancelled: list[str] = []

    def methods(self, test_id: str) -> list[str]:
        with self.lock:
            return [m for _, m, h in self.requests if h.get("x-test") == test_id]

    def headers(self, test_id: str) -> list[dict[str, str]]:
        with self.lock:
            return [h for _, _, h in self.requests if h.get("x-test") == test_id]

    def event(self, kind: str, label: str) -> None:
        (self.sleeping if kind == "sleeping" else self.cancelled).append(label)

    def http_methods(self, test_id: str) -> list[str]:
        with self.lock:
            return [v for v, _, h in self.requests if h.get("x-test") == test_id]


def build_server(on_event: Callable[[str, str], None] | None = None) -> MCPServer:
    """The test server; `on_event(kind, label)` hears of sleeps starting and being cancelled."""
    server = MCPServer("faceplate-test", log_level="WARNING")

    @server.tool(description="Add two integers.")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="Echo the text back.")
    def echo(text: str) -> str:
        return text

    @server.tool(description="Sleep, then answer; records starts and cancellations.")
    async def sleep(seconds: float, label: str = "", clock: bool = False) -> str:
        """With `clock`, the answer is when the sleep began and ended, in nanoseconds of the
        monotonic clock every process of the machine shares."""
        began = time.monotonic_ns()
        if on_event is not None:
            on_event("sleeping", label)
        try:
            await anyio.sleep(seconds)
        except anyio.get_cancelled_exc_class():
            if on_event is not None:
                on_event("cancelled", label)
            raise
        if clock:
            return f"{began} {time.monotonic_ns()}"
        return f"slept {seconds:g} s"

    @server.tool(description="Fail on purpose.")
    def fail() -> str:
        raise ToolError("boom")

    @server.tool(description="Crash with an unexpected exception.")
    def crash() -> str:
        raise ValueError("secret internals")

    @server.tool(description="Answer with a protocol error.")
    def protocol_error() -> str:
        raise MCPError(code=-32602, message="bad params")

    @server.tool(description="A one-pixel PNG.")
    def image() -> Image:
        return Image(data=PNG, format="png")

    @server.tool(description="Every other kind of content.")
    def media() -> CallToolResult:
        return CallToolResult(
            content=[
                EmbeddedResource(
                    resource=TextResourceContents(
                        uri="file:///a.txt", mime_type="text/plain", text="A"
                    )
                ),
                EmbeddedResource(resource=BlobResourceContents(uri="file:///b.bin", blob="AAE=")),
                AudioContent(data="AAAA", mime_type="audio/wav"),
                ResourceLink(name="doc", uri="https://example.com/doc", mime_type="text/html"),
            ]
        )

    @server.tool(description="The HTTP headers of this request.")
    def headers(ctx: Context) -> dict[str, str]:
        return dict(ctx.headers or {})

    @server.tool(description="This server's environment variables.")
    def environment() -> dict[str, str]:
        return dict(os.environ)

    @server.tool(description="Say that the tools changed (they do not).")
    async def announce_tools_changed(ctx: Context) -> str:
        await ctx.notify_tools_changed()  # to 2026 clients' subscriptions/listen streams
        with contextlib.suppress(Exception):  # to earlier ones, as a notification
            await ctx.session.send_tool_list_changed()
        return "announced"

    @server.tool(description="This server's process id.")
    def pid() -> int:
        return os.getpid()

    return server
