"""agents/sse.py reads event streams as the SSE spec splits them: lines end only at CRLF, LF or
CR. These are the cases that justify a reader of our own instead of httpx's line reader."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import httpx
import pytest
from httpx._decoders import LineDecoder

from faceplate.agents.sse import SSEEvent, _lines, post_events
from tests.support.server import ServerThread


class _Stream:
    """An HTTP server answering every POST with the next scripted raw event stream, in chunks."""

    def __init__(self) -> None:
        self.chunks: Sequence[bytes] = ()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        while (await receive()).get("more_body", False):
            pass
        start = {"type": "http.response.start", "status": 200}
        await send({**start, "headers": [(b"content-type", b"text/event-stream")]})
        for chunk in self.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture(scope="module")
def stream() -> Iterator[tuple[_Stream, str]]:
    app = _Stream()
    with ServerThread(app) as server:
        yield app, server.url


async def _events(stream: tuple[_Stream, str], *chunks: bytes) -> list[SSEEvent]:
    app, url = stream
    app.chunks = chunks
    async with httpx.AsyncClient() as client:
        return [e async for e in post_events(client, url, body={}, who="test")]


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\u0085", "\x1c", "\x0b", "\x0c"])
async def test_a_unicode_line_break_inside_a_data_line_stays_in_it(
    stream: tuple[_Stream, str], char: str
) -> None:
    data = f'{{"text": "one{char}two"}}'
    events = await _events(stream, f"data: {data}\n\n".encode())
    assert events == [SSEEvent(event="message", data=data)]


def test_httpx_own_line_reader_would_split_there() -> None:
    """Why agents/sse.py exists: httpx's aiter_lines() ends lines at U+2028 and U+0085 too."""
    lines = LineDecoder().decode('data: {"text": "one\u2028two\u0085three"}\n')
    assert lines == ['data: {"text": "one', "two", 'three"}']


async def test_bare_cr_ends_lines(stream: tuple[_Stream, str]) -> None:
    events = await _events(stream, b"event: delta\rdata: a\r\rdata: b\r\r")
    assert events == [SSEEvent(event="delta", data="a"), SSEEvent(event="message", data="b")]


async def test_crlf_ends_lines(stream: tuple[_Stream, str]) -> None:
    events = await _events(stream, b"event: delta\r\ndata: a\r\n\r\n")
    assert events == [SSEEvent(event="delta", data="a")]


async def test_a_comment_line_is_skipped(stream: tuple[_Stream, str]) -> None:
    events = await _events(stream, b": keep-alive\n\ndata: a\n: in between\ndata: b\n\n")
    assert events == [SSEEvent(event="message", data="a\nb")]


async def test_data_lines_of_one_event_join_with_newlines(stream: tuple[_Stream, str]) -> None:
    events = await _events(stream, b"event: e\ndata: one\ndata:two\ndata:  three\n\n")
    assert events == [SSEEvent(event="e", data="one\ntwo\n three")]


async def test_an_event_without_its_blank_line_is_not_delivered(
    stream: tuple[_Stream, str],
) -> None:
    events = await _events(stream, b"data: whole\n\n", b"data: cut off")
    assert events == [SSEEvent(event="message", data="whole")]


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_a_crlf_split_between_two_reads_is_one_line_end() -> None:
    lines = [line async for line in _lines(_chunks(b"data: a\r", b"\ndata: b\r\n", b"\r\n"))]
    assert lines == ["data: a", "data: b", ""]


async def test_utf8_split_between_two_reads_is_decoded_whole() -> None:
    encoded = "data: é\u2028\n".encode()
    cut = encoded.index(b"\xc3") + 1
    lines = [line async for line in _lines(_chunks(encoded[:cut], encoded[cut:]))]
    assert lines == ["data: é\u2028"]
