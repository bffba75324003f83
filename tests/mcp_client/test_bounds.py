"""What an MCP server sends is bounded: one answer at the transport's byte cap (with an error
naming the size), a result at max_result_bytes (truncated with a note), a listing at max_tools
and at MAX_SCHEMA_BYTES per tool, the listing of many servers at LISTING_CONCURRENCY."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from starlette.types import Message, Receive, Scope, Send

from faceplate.mcp_client.bounds import MAX_MESSAGE_BYTES, SSE_EVENT_BYTES
from faceplate.mcp_client.catalog import LISTING_CONCURRENCY, McpToolSource
from faceplate.mcp_client.results import block_bytes, truncated
from faceplate.mcp_client.sessions import MAX_SCHEMA_BYTES, McpSessionManager
from faceplate.structs import HttpConfig, ImageBlock, SseConfig, TextBlock
from tests.mcp_client.conftest import ANY_HOST
from tests.mcp_client.servers import serve_in_thread
from tests.mcp_client.support import USER, call, text
from tests.mcp_client.toolbox import build_server
from tests.support.flood_mcp import flood_servers

FLOOD = 500_000_000


@pytest.fixture(scope="module")
def flood_urls() -> Iterator[tuple[str, str]]:
    with flood_servers() as urls:
        yield urls


@pytest.fixture
async def bounded() -> AsyncIterator[McpSessionManager]:
    async with McpSessionManager(allow_private=True, max_result_bytes=100_000, max_tools=5) as m:
        yield m


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("json", f"the MCP server's answer is over the {MAX_MESSAGE_BYTES:,}-byte limit"),
        ("declared", f"is {FLOOD + 89:,} bytes, over the {MAX_MESSAGE_BYTES:,}-byte limit"),
        ("gzip", f"the MCP server's answer is over the {MAX_MESSAGE_BYTES:,}-byte limit"),
        ("event", f"an event of the MCP server is over the {MAX_MESSAGE_BYTES:,}-byte limit"),
    ],
)
async def test_a_flood_over_streamable_http_is_an_error_naming_the_size(
    bounded: McpSessionManager, flood_urls: tuple[str, str], mode: str, says: str
) -> None:
    config = HttpConfig(url=flood_urls[0])

    result = await call(bounded, config, "flood", {"bytes": FLOOD, "mode": mode}, timeout_s=60)

    assert result.is_error is True
    assert says in text(result)
    assert text(await call(bounded, config, "add", {"a": 1, "b": 2})) == "3"  # still usable


async def test_a_flood_over_legacy_sse_is_an_error_naming_the_size(
    bounded: McpSessionManager, flood_urls: tuple[str, str]
) -> None:
    config = SseConfig(url=flood_urls[1])

    result = await call(bounded, config, "flood", {"bytes": FLOOD}, timeout_s=60)

    assert result.is_error is True
    limit = f"an event of the MCP server is over the {SSE_EVENT_BYTES:,}-byte limit"
    assert limit in text(result)
    assert text(await call(bounded, config, "add", {"a": 1, "b": 2})) == "3"  # reconnected


async def test_a_refused_answer_is_one_log_line_without_a_stack_trace(
    bounded: McpSessionManager, flood_urls: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await call(bounded, HttpConfig(url=flood_urls[0]), "flood", {"bytes": FLOOD}, timeout_s=60)

    assert not [r for r in caplog.records if r.exc_info and r.levelno >= logging.WARNING]
    assert [
        r for r in caplog.records if "refused" in r.getMessage() and "8,388,608" in r.getMessage()
    ]


@pytest.mark.parametrize("transport", ["streamable_http", "sse"])
async def test_a_result_over_max_result_bytes_is_cut_with_a_note(
    bounded: McpSessionManager, flood_urls: tuple[str, str], transport: str
) -> None:
    config = SseConfig(url=flood_urls[1]) if transport == "sse" else HttpConfig(url=flood_urls[0])

    result = await call(bounded, config, "big", {"bytes": 300_000})

    assert result.is_error is False
    (block,) = result.content
    assert isinstance(block, TextBlock)
    assert block.text.endswith(f"\n[truncated: {300_000 - block.text.index(chr(10))} bytes]")
    assert block.text.startswith("y" * 99_000)
    assert sum(block_bytes(b) for b in result.content) <= 100_000


def test_truncation_keeps_blocks_that_fit_and_notes_what_was_left_out() -> None:
    image = ImageBlock(data="A" * 400, mime_type="image/png")
    content = [TextBlock(text="a" * 300), image, TextBlock(text="é" * 300)]  # 300 + 409 + 600

    cut = truncated(list(content), 1000)

    assert cut[:2] == content[:2]
    last = cut[2]
    assert isinstance(last, TextBlock)
    body, _, note = last.text.rpartition("\n")
    assert set(body) == {"é"}
    kept = 300 + 409 + len(body.encode())
    assert note == f"[truncated: {1309 - kept} bytes]"
    assert sum(block_bytes(b) for b in cut) <= 1000


def test_truncation_drops_an_image_that_does_not_fit_and_adds_the_note_as_text() -> None:
    cut = truncated([ImageBlock(data="A" * 5000, mime_type="image/png")], 1000)

    assert cut == [TextBlock(text="[truncated: 5009 bytes]")]


def test_content_within_the_limit_is_unchanged() -> None:
    content = [TextBlock(text="short")]

    assert truncated(content, 1000) is content


async def test_a_listing_offers_at_most_max_tools(
    bounded: McpSessionManager, flood_urls: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="faceplate.mcp_client.sessions"):
        specs = await bounded.list_tools(USER, uuid.uuid4(), HttpConfig(url=flood_urls[0]))

    assert len(specs) == 5
    assert "offers more than 5 tools: the rest are left out" in caplog.text


async def test_a_tool_with_a_huge_schema_is_left_out_with_a_log_line(
    flood_urls: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    async with McpSessionManager(allow_private=True) as manager:
        with caplog.at_level(logging.WARNING, logger="faceplate.mcp_client.sessions"):
            specs = await manager.list_tools(USER, uuid.uuid4(), HttpConfig(url=flood_urls[0]))

    names = [spec.name for spec in specs]
    assert "huge_schema" not in names and "add" in names and len(names) == 13
    assert "tool 'huge_schema' of MCP config" in caplog.text
    assert f"(at most {MAX_SCHEMA_BYTES})" in caplog.text


async def test_many_servers_are_listed_a_few_at_a_time(manager: McpSessionManager) -> None:
    inner = build_server().streamable_http_app(transport_security=ANY_HOST)
    listing = 0
    most = 0

    async def counting(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal listing, most
        if scope["type"] != "http" or scope["method"] != "POST":
            await inner(scope, receive, send)
            return
        received: list[Message] = []
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        lists = any(b'"tools/list"' in m.get("body", b"") for m in received)
        if lists:
            listing += 1
            most = max(most, listing)
            await asyncio.sleep(0.3)  # the server thread's loop: the client waits meanwhile

        async def replay() -> Message:
            return received.pop(0) if received else await receive()

        try:
            await inner(scope, replay, send)
        finally:
            if lists:
                listing -= 1

    with serve_in_thread(counting) as url:
        configs = [
            (uuid.uuid4(), f"server {n}", HttpConfig(url=f"{url}/mcp", headers={"X-N": str(n)}))
            for n in range(3 * LISTING_CONCURRENCY)
        ]
        source = McpToolSource(manager, USER, configs, timeout_s=5, list_timeout_s=30)
        specs = await source.specs()

    assert len({spec.name.partition("__")[0] for spec in specs}) == len(configs)
    assert 1 < most <= LISTING_CONCURRENCY
