"""Byte caps on what MCP servers send over HTTP: one body, or one server-sent event.

The SDK reads a JSON answer whole (`response.aread()`), so the cap sits below it, in the HTTP
client's transport: a body is counted as it arrives (decompressed, when the server compressed
it) and reading stops, with an error naming the size, once it passes the cap; an event stream
is counted event by event. Memory held for one answer thus stays near the cap, however much a
server sends.

The error is a `StreamError`, which the SDK turns into an error answer to the request (a JSON
body) or into the end of the request's stream (an event stream); the connection itself stays
usable. Why it happened is noted on the `Overflow` of the current call (`watching`), or of the
connection (`watch_connection`) for a stream that serves every call (legacy SSE), so the caller
can say it instead of "the connection was lost".
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final, NoReturn

import httpx2

MAX_MESSAGE_BYTES: Final = 8 * 1024 * 1024
"""One HTTP body or one event of an event stream from an MCP server, at most."""
SSE_EVENT_BYTES: Final = 1024 * 1024
"""One event of a legacy SSE connection: the SDK's own fixed limit there, which ends the
connection; the cap is set to it so that the reason can be told."""

_EVENT_STREAM: Final = "text/event-stream"
_DECOMPRESS_STEP: Final = 64 * 1024
_BLANK_LINES: Final = (b"\n\n", b"\r\r", b"\n\r")  # an event ends at a blank line


class Overflow:
    """What a capped read ran into, if anything: `reason` names the size."""

    __slots__ = ("reason",)

    def __init__(self) -> None:
        self.reason: str | None = None


_CALL: ContextVar[Overflow | None] = ContextVar("faceplate_mcp_call_overflow", default=None)
_CONNECTION: ContextVar[Overflow | None] = ContextVar(
    "faceplate_mcp_connection_overflow", default=None
)


@contextmanager
def watching() -> Iterator[Overflow]:
    """Note an overflow of the requests this task makes meanwhile (the SDK sends a request in
    the caller's context, so its HTTP exchange sees this note)."""
    note = Overflow()
    token = _CALL.set(note)
    try:
        yield note
    finally:
        _CALL.reset(token)


def watch_connection() -> Overflow:
    """Note overflows of this task's connection: its long-lived streams, opened from here."""
    note = Overflow()
    _CONNECTION.set(note)
    return note


class BadAnswer(httpx2.StreamError):
    """An MCP server's answer cannot be read: too large, or compressed in a way not accepted.

    A StreamError, so the SDK answers the request with an error and keeps the connection.
    """


class MessageTooLarge(BadAnswer):
    """An MCP server sent more than the cap in one answer; it was not read further."""


class _OwnRefusals(logging.Filter):
    """The SDK logs the errors it catches with their stack trace; a refusal of ours is no
    fault to trace (the session logs it in one line), so its records are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, BadAnswer)


for _logger in ("mcp.client.streamable_http", "mcp.client.sse"):
    logging.getLogger(_logger).addFilter(_OwnRefusals())


class ResponseCaps:
    """An HTTP client's response hook: each body is then read through a byte counter.

    A hook rather than a transport, so that it holds whichever transport the client picks for
    a URL (a proxy's included).
    """

    def __init__(
        self, *, max_body_bytes: int = MAX_MESSAGE_BYTES, max_event_bytes: int = MAX_MESSAGE_BYTES
    ) -> None:
        self._max_body = max_body_bytes
        self._max_event = max_event_bytes

    async def __call__(self, response: httpx2.Response) -> None:
        note = _CALL.get() or _CONNECTION.get()
        headers = response.headers
        encoding = headers.get("content-encoding", "identity").strip().lower()
        media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        events = media_type == _EVENT_STREAM
        declared = headers.get("content-length", "")
        refused: BadAnswer | None = None
        if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
            refused = BadAnswer(f"the MCP server sent its answer encoded as {encoding!r}: refused")
        elif not events and declared.isdigit() and int(declared) > self._max_body:
            refused = MessageTooLarge(
                f"the MCP server's answer is {int(declared):,} bytes, over the "
                f"{self._max_body:,}-byte limit: it was not read"
            )
        if encoding not in ("identity", ""):
            del headers["content-encoding"]  # decoded by the counter, within the cap
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        response.stream = _Counted(
            response.stream,
            encoding=encoding,
            limit=self._max_event if events else self._max_body,
            per_event=events,
            note=note,
            refused=refused,
        )


class _Counted(httpx2.AsyncByteStream):
    """A response body, decompressed within the cap and refused past it."""

    def __init__(
        self,
        inner: httpx2.AsyncByteStream,
        *,
        encoding: str,
        limit: int,
        per_event: bool,
        note: Overflow | None,
        refused: BadAnswer | None,
    ) -> None:
        self._inner = inner
        self._limit = limit
        self._per_event = per_event
        self._note = note
        self._refused = refused
        self._inflate = None
        if encoding in ("gzip", "x-gzip"):
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self._inflate = zlib.decompressobj()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._refused is not None:
            self._fail(str(self._refused), type(self._refused))
        counted = 0  # of the body, or of the event being read
        tail = b""  # the last byte before this piece, for blank lines split between pieces
        async for raw in self._inner:
            for piece in self._decoded(raw):
                if self._per_event:
                    seen = tail + piece
                    end = max(seen.rfind(marker) for marker in _BLANK_LINES)
                    counted = len(seen) - end - 2 if end >= 0 else counted + len(piece)
                    tail = piece[-1:]
                else:
                    counted += len(piece)
                if counted > self._limit:
                    what = (
                        "an event of the MCP server"
                        if self._per_event
                        else "the MCP server's answer"
                    )
                    self._fail(f"{what} is over the {self._limit:,}-byte limit: it was not read")
                yield piece
        if self._inflate is not None:
            rest = self._inflate.flush()
            if counted + len(rest) > self._limit:
                self._fail(f"the MCP server's answer is over the {self._limit:,}-byte limit")
            if rest:
                yield rest

    def _decoded(self, raw: bytes) -> Iterator[bytes]:
        if self._inflate is None:
            if raw:
                yield raw
            return
        data = raw
        while data:
            try:
                piece = self._inflate.decompress(data, _DECOMPRESS_STEP)
            except zlib.error as exc:
                self._fail(f"the MCP server's compressed answer is broken: {exc}", BadAnswer)
            if piece:
                yield piece
            data = self._inflate.unconsumed_tail

    def _fail(self, reason: str, error: type[BadAnswer] = MessageTooLarge) -> NoReturn:
        if self._note is not None and self._note.reason is None:
            self._note.reason = reason
        raise error(reason)

    async def aclose(self) -> None:
        await self._inner.aclose()
