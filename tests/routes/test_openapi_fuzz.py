"""Property-based requests built from /openapi.json against the app served for real: no 5xx, and
every error in the contract's body shape."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import BaseSchema

from faceplate.app import create_app
from faceplate.routes.table import ROUTES
from faceplate.settings import Settings
from faceplate.web.openapi import build_document
from tests.routes.helpers import Headers, assert_error, insert_message
from tests.support.app import bearer, dev_token
from tests.support.server import ServerThread

# Listing tools and starting OAuth connect to the configured MCP server: slow, and not what
# this fuzzes.
EXCLUDED = {("GET", "/v1/mcp-configs/{id}/tools"), ("POST", "/v1/mcp-configs/{id}/oauth")}
OPERATIONS = sorted(
    (method.upper(), path)
    for path, methods in build_document(ROUTES)["paths"].items()
    for method in methods
    if (method.upper(), path) not in EXCLUDED
)
FUZZ_SETTINGS = hypothesis.settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    suppress_health_check=list(hypothesis.HealthCheck),
)


@dataclass(frozen=True)
class Served:
    url: str
    headers: Headers
    conversation_id: str
    config_id: str
    message_id: str


@pytest.fixture
def served(settings: Settings, caplog: pytest.LogCaptureFixture) -> Iterator[Served]:
    """The app on a real port, with one conversation and one MCP config of the fuzzing user."""
    headers = bearer(dev_token(settings, "fuzz@example.com"))
    server = ServerThread(create_app(settings), lifespan="on")
    # The app logs every 500 with its request id before answering. uvicorn would log it again
    # after answering, formatting the traceback in its thread while pytest formats a failure in
    # this one; both call ast.parse, which CPython 3.11 does not make thread-safe.
    caplog.set_level(logging.CRITICAL, logger="uvicorn.error")
    with (
        server,
        httpx.Client(base_url=server.url, headers=headers, timeout=10) as http,
    ):
        conv = http.post("/v1/conversations", json={"title": "seed"})
        config = {"transport": "sse", "url": "https://mcp.example.com/sse"}
        mcp = http.post("/v1/mcp-configs", json={"name": "seed", "config": config})
        assert conv.status_code == mcp.status_code == 201
        message_id = insert_message(
            settings.database_url or "", conv.json()["id"], role="user", content="seed"
        )
        yield Served(server.url, headers, conv.json()["id"], mcp.json()["id"], str(message_id))


@pytest.fixture
def api_schema(served: Served) -> BaseSchema:
    schema = schemathesis.openapi.from_url(f"{served.url}/openapi.json", timeout=10)
    schema.config.update(base_url=served.url, headers=served.headers, request_timeout=10)
    return schema


def _strategy(schema: BaseSchema, served: Served, method: str, path: str) -> Any:
    operation = schema[path][method]
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if "{id}" in path:
        # Random UUIDs only ever find nothing: also aim at resources that exist.
        existing = served.config_id if "mcp-configs" in path else served.conversation_id
        strategies.append(
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters={"id": existing})
        )
    if path.startswith("/v1/mcp-configs") and method in ("POST", "PATCH"):
        # A random string is seldom an http(s) URL: also send generated configs that pass.
        fixed = {"id": served.config_id} if "{id}" in path else None
        positive = operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed)
        strategies.append(positive.map(_with_usable_url))
    if path.endswith("/active"):
        # A random message id is never in the conversation: also name its one message.
        strategies.append(
            operation.as_strategy(
                GenerationMode.POSITIVE, path_parameters={"id": served.conversation_id}
            ).map(lambda case: _naming(case, served.message_id))
        )
    return st.one_of(strategies)


def _naming(case: Case, message_id: str) -> Case:
    case.body = {"message_id": message_id}
    return case


def _with_usable_url(case: Case) -> Case:
    config = case.body.get("config") if isinstance(case.body, dict) else None
    if isinstance(config, dict) and config.get("transport") in ("streamable_http", "sse"):
        config["url"] = "https://mcp.example.com/mcp"
    return case


def assert_contract_error(case: Case, response: schemathesis.Response) -> None:
    shown = (response.status_code, response.text, case.as_curl_command())
    body = response.json()
    assert isinstance(body, dict), shown
    assert set(body) == {"error"}, shown
    assert isinstance(body["error"], dict), shown
    assert set(body["error"]) == {"code", "message"}, shown
    assert isinstance(body["error"]["code"], str), shown
    assert isinstance(body["error"]["message"], str), shown


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_server_error_and_errors_have_the_contract_shape(
    api_schema: BaseSchema, served: Served, method: str, path: str
) -> None:
    statuses: list[int] = []

    @FUZZ_SETTINGS
    @hypothesis.given(case=_strategy(api_schema, served, method, path))
    def check(case: Case) -> None:
        response = case.call()
        statuses.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error])
        if not 200 <= response.status_code < 300:
            assert_contract_error(case, response)

    check()
    assert 401 not in statuses, "every request carries a valid token"
    assert any(200 <= status < 300 for status in statuses), statuses


# --- input that once answered 500, pinned as plain requests -------------------------------------


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _once_answered_500(reason: str, method: str, path: str, **kwargs: Any) -> Any:
    """A request that once crashed the app (`reason`), kept as a regression test."""
    return pytest.param(method, path, kwargs)


_SSE = {"transport": "sse", "url": "https://x.example.com"}
_NIL = b'"00000000-0000-0000-0000-000000000000"'
_OUT_OF_RANGE = "asyncpg cannot encode the cursor's timestamp (DataError: date value out of range)"
ODD_INPUT = {
    "NUL in a new conversation's title": ("POST", "/v1/conversations", {"json": {"title": "\0"}}),
    "NUL in a conversation's new title": (
        "PATCH",
        "/v1/conversations/{conversation_id}",
        {"json": {"title": "a\0b"}},
    ),
    "NUL in an MCP config name": (
        "POST",
        "/v1/mcp-configs",
        {"json": {"name": "a\0", "config": _SSE}},
    ),
    "NUL in an MCP config URL": (
        "POST",
        "/v1/mcp-configs",
        {"json": {"name": "u", "config": {**_SSE, "url": "https://x.example.com/\0"}}},
    ),
    "NUL in an MCP config header name": (
        "POST",
        "/v1/mcp-configs",
        {"json": {"name": "h", "config": {**_SSE, "headers": {"\0": "v"}}}},
    ),
    "MCP config cursor holding NUL": _once_answered_500(
        "its name reaches PostgreSQL, which refuses U+0000 (CharacterNotInRepertoireError)",
        "GET",
        "/v1/mcp-configs",
        params={"cursor": _cursor(b'"\\u0000"')},
    ),
    "conversation cursor before year 1 in UTC": _once_answered_500(
        _OUT_OF_RANGE,
        "GET",
        "/v1/conversations",
        params={"cursor": _cursor(b'["0001-01-01T00:00:00+14:00", ' + _NIL + b"]")},
    ),
    "message cursor after year 9999 in UTC": _once_answered_500(
        _OUT_OF_RANGE,
        "GET",
        "/v1/conversations/{conversation_id}/messages",
        params={"cursor": _cursor(b'["9999-12-31T23:59:59-14:00", ' + _NIL + b"]")},
    ),
    "limit that is a non-ASCII digit": _once_answered_500(
        "query_limit: '\u00b2'.isdigit() is true, int('\u00b2') raises ValueError",
        "GET",
        "/v1/conversations",
        params={"limit": "\u00b2"},
    ),
}


@pytest.mark.parametrize(("method", "path", "kwargs"), ODD_INPUT.values(), ids=ODD_INPUT.keys())
def test_odd_input_is_served_or_refused_never_a_server_error(
    served: Served, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    with httpx.Client(base_url=served.url, headers=served.headers, timeout=10) as http:
        response = http.request(
            method, path.format(conversation_id=served.conversation_id), **kwargs
        )
    if response.status_code >= 300:
        assert_error(response, 422, "validation_error")
