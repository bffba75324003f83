"""The access log: a line per HTTP request with its id, written in batches by the app."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from faceplate.app import create_app
from faceplate.logs import ACCESS_LOGGER, AccessHandler, access_handler, log_config, new_request_id
from faceplate.settings import Settings

_ID = r"r[0-9a-f]{6}-[0-9a-f]+"


class _Stream(io.StringIO):
    """Counts the writes that reach it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def _scope(path: bytes = b"/v1/me", query: bytes = b"") -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "http_version": "1.1",
        "path": path.decode("latin-1"),
        "raw_path": path,
        "query_string": query,
        "client": ("127.0.0.1", 5000),
    }


def _line(handler: AccessHandler, stream: io.StringIO, **scope: Any) -> str:
    handler.request(_scope(**scope), 404)
    handler.flush()
    return stream.getvalue()


def test_a_line_reads_like_uvicorns_with_the_request_id() -> None:
    stream = io.StringIO()
    new_request_id()

    line = _line(AccessHandler(stream), stream, query=b"limit=5")

    assert re.fullmatch(
        rf'INFO:     127\.0\.0\.1:5000 - "GET /v1/me\?limit=5 HTTP/1\.1" 404 Not Found {_ID}\n',
        line,
    )


def test_a_json_line_is_one_object_with_the_requests_fields() -> None:
    stream = io.StringIO()
    new_request_id()

    (entry,) = [json.loads(x) for x in _line(AccessHandler(stream, json=True), stream).splitlines()]

    assert entry["logger"] == ACCESS_LOGGER and entry["level"] == "INFO"
    assert entry["message"] == '127.0.0.1:5000 - "GET /v1/me HTTP/1.1" 404'
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/v1/me", 404)
    assert re.fullmatch(_ID, entry["request_id"])


@pytest.mark.parametrize("as_json", [False, True])
def test_the_oauth_callbacks_query_is_never_written(as_json: bool) -> None:
    stream = io.StringIO()

    text = _line(
        AccessHandler(stream, json=as_json),
        stream,
        path=b"/oauth/callback",
        query=b"code=secret-code&state=s",
    )

    assert "/oauth/callback?…" in text
    assert "secret-code" not in text


def test_a_request_cannot_write_a_line_of_its_own() -> None:
    stream = io.StringIO()

    text = _line(AccessHandler(stream), stream, path=b"/a\r\nINFO: forged \x1b[31m\xff")

    assert text.count("\n") == 1
    assert "/a%0D%0AINFO:%20forged%20%1B[31m%FF" in text


async def test_lines_on_the_loop_are_written_together_after_the_interval() -> None:
    stream = _Stream()
    handler = AccessHandler(stream, interval_s=0.05)

    for _ in range(3):
        handler.request(_scope(), 200)
    assert stream.writes == 0

    async with asyncio.timeout(5):
        while not stream.writes:
            await asyncio.sleep(0.01)
    assert stream.writes == 1
    assert stream.getvalue().count("\n") == 3


def test_closing_writes_what_is_kept() -> None:
    stream = _Stream()
    handler = AccessHandler(stream)

    async def some_lines() -> None:  # a record logged the usual way joins the same batch
        handler.request(_scope(), 200)
        handler.handle(
            logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 1, "by hand", None, None)
        )

    asyncio.run(some_lines())
    assert stream.writes == 0
    handler.close()

    assert stream.writes == 1
    assert stream.getvalue().splitlines()[1] == "by hand"


def test_serves_access_log_is_the_apps_unless_turned_off() -> None:
    on, off = log_config("text"), log_config("text", access_log=False)

    assert on["loggers"][ACCESS_LOGGER]["handlers"] == ["faceplate_access"]
    assert ACCESS_LOGGER not in off["loggers"]


@pytest.fixture
def configured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = AccessHandler(stream)
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(handler)
    try:
        assert access_handler() is handler
        yield stream
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_the_app_writes_a_line_per_request(configured: io.StringIO, settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 200
        assert client.get("/v1/me").status_code == 401
        assert client.get("/v1/nothing").status_code == 404
    handler = access_handler()
    assert handler is not None
    handler.flush()

    lines = configured.getvalue().splitlines()
    assert [re.sub(rf" {_ID}$", "", line.split(" - ", 1)[1]) for line in lines] == [
        '"GET /readyz HTTP/1.1" 200 OK',
        '"GET /v1/me HTTP/1.1" 401 Unauthorized',
        '"GET /v1/nothing HTTP/1.1" 404 Not Found',
    ]
    ids = [line.rsplit(" ", 1)[1] for line in lines]
    assert len(set(ids)) == 3 and all(re.fullmatch(_ID, i) for i in ids)


def test_without_a_handler_the_app_writes_none(settings: Settings) -> None:
    assert access_handler() is None
    with TestClient(create_app(settings)) as client:
        assert client.get("/readyz").status_code == 200
