"""One streamed POST to a model API, read as server-sent events; every failure is an LLMError."""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import httpx
import msgspec

from faceplate.agents.base import ContextTooLong, LLMError

_ENCODER = msgspec.json.Encoder()
_EXCERPT_CHARS = 300
# The SSE spec ends lines with CRLF, LF or CR only; str.splitlines (and httpx's line reader)
# would also split inside JSON strings holding U+2028, U+0085 and the like.
_NEWLINE = re.compile(r"\r\n|\r|\n")
# How the vendors and the usual compatible servers (vLLM, llama.cpp, Ollama, LiteLLM) word a
# request over the context window: OpenAI's code context_length_exceeded, Anthropic's
# "prompt is too long", vLLM's "maximum context length", llama.cpp's "exceeds the available
# context size".
_CONTEXT_TOO_LONG = re.compile(
    r"context_length_exceeded|context[ _-]?(length|window|size)|prompt is too long"
    r"|too many tokens|maximum context|input is too long",
    re.IGNORECASE,
)


class SSEEvent(msgspec.Struct, frozen=True, kw_only=True):
    event: str
    data: str


class _ErrorDetail(msgspec.Struct):
    message: str | None = None


class _ErrorBody(msgspec.Struct):
    error: _ErrorDetail | str | None = None
    message: str | None = None


async def post_events(
    client: httpx.AsyncClient,
    url: str,
    *,
    body: Any,
    who: str,
) -> AsyncGenerator[SSEEvent, None]:
    """POST `body` as JSON and yield the response's events; closing the iterator closes it.

    `who` names the model in error messages. Timeouts, connection failures, HTTP error statuses,
    a response that is not an event stream and a body cut off mid-way all raise `LLMError`.
    """
    request_headers = {"content-type": "application/json", "accept": "text/event-stream"}
    try:
        async with client.stream(
            "POST", url, content=_ENCODER.encode(body), headers=request_headers
        ) as response:
            if response.status_code >= 400:
                raw = await response.aread()
                excerpt = _excerpt(raw)
                message = f"{who}: HTTP {response.status_code} from {url}: {excerpt}"
                if response.status_code in (400, 413, 422) and _CONTEXT_TOO_LONG.search(
                    raw[:4096].decode("utf-8", errors="replace")
                ):
                    raise ContextTooLong(_too_long(message))
                raise LLMError(message)
            media_type = response.headers.get("content-type", "").partition(";")[0].strip()
            if media_type != "text/event-stream":
                excerpt = _excerpt(await response.aread())
                raise LLMError(f"{who}: expected an event stream, got {media_type!r}: {excerpt}")
            async for event in _events(_lines(response.aiter_bytes())):
                yield event
    except httpx.TimeoutException as exc:
        raise LLMError(f"{who}: timed out talking to {url} ({type(exc).__name__})") from exc
    except (httpx.HTTPError, httpx.StreamError, httpx.InvalidURL) as exc:
        raise LLMError(f"{who}: request to {url} failed: {type(exc).__name__}: {exc}") from exc


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    buffer = ""
    async for chunk in chunks:
        buffer += decoder.decode(chunk)
        start = 0
        for match in _NEWLINE.finditer(buffer):
            if match.group() == "\r" and match.end() == len(buffer):
                break  # may be the first half of a CRLF split across two chunks
            yield buffer[start : match.start()]
            start = match.end()
        buffer = buffer[start:]
    if buffer.endswith("\r"):  # the CR held back above was the stream's last line end
        yield buffer[:-1]
    # Anything else left is an unterminated line: per the SSE spec it never completes an event.


async def _events(lines: AsyncIterator[str]) -> AsyncIterator[SSEEvent]:
    event = ""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield SSEEvent(event=event or "message", data="\n".join(data))
            event, data = "", []
            continue
        if line.startswith(":"):
            continue  # a comment, used as keep-alive
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data.append(value)
        elif field == "event":
            event = value


def model_error(message: str) -> LLMError:
    """The error of a model's in-stream failure: ContextTooLong when it says so."""
    if _CONTEXT_TOO_LONG.search(message):
        return ContextTooLong(_too_long(message))
    return LLMError(message)


def _too_long(message: str) -> str:
    return (
        "the conversation is too long for the model's context window; "
        f"FACEPLATE_LLM_CONTEXT_TOKENS may be set above what the model has ({message})"
    )


def _excerpt(raw: bytes) -> str:
    """The error message of a JSON error body (OpenAI or Anthropic shape), else its start."""
    text = raw.decode("utf-8", errors="replace")
    try:
        parsed = msgspec.json.decode(raw, type=_ErrorBody)
    except msgspec.DecodeError:
        parsed = _ErrorBody()
    if isinstance(parsed.error, _ErrorDetail) and parsed.error.message:
        text = parsed.error.message
    elif isinstance(parsed.error, str) and parsed.error:
        text = parsed.error
    elif parsed.message:
        text = parsed.message
    text = " ".join(text.split())
    if len(text) > _EXCERPT_CHARS:
        text = text[:_EXCERPT_CHARS] + "…"
    return text or "(empty body)"
