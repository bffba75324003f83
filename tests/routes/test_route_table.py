"""RouteTable against Starlette's own Router: for every route of the app and odd paths around it,
both pick the same route with the same path params, or answer the same 404, 405 or redirect.

RouteTable leans on Starlette's routing internals (the pinned minor version); this is the fence
that says when an upgrade, or a new route shape, makes the two disagree.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.routing import BaseRoute, Route, Router
from starlette.types import Message, Receive, Scope, Send

from faceplate.routes.table import ROUTES
from faceplate.web.route_table import RouteTable

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
VALUES = (
    "0190b6a1-0000-7000-8000-000000000000",
    "x",
    "a%2Fb",
    "a%20b",
    "caf%C3%A9",
    "café",
    "a b",
    ".",
    "..",
    "a\n",
)
UNKNOWN = ("/", "//", "/v1", "/v1/", "/v1//", "/v1/nothing", "/V1/ME", "/v1/me/x/y/z", "/x" * 9)

Outcome = tuple[int, str | None, str | None, bytes]


class _Probe:
    """Stands in for one route's endpoint: answers which route it is and the params it got."""

    def __init__(self, index: int) -> None:
        self.index = index

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = json.dumps({"route": self.index, "params": scope["path_params"]}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


def _probes(routes: list[BaseRoute]) -> list[BaseRoute]:
    """The same paths and methods, each endpoint replaced by a probe (WebSockets kept)."""
    return [
        Route(r.path, _Probe(i), methods=r.methods) if isinstance(r, Route) else r
        for i, r in enumerate(routes)
    ]


def _fill(path: str, value: str) -> str:
    return "/".join(value if s.startswith("{") else s for s in path.split("/"))


def _sample_paths() -> list[str]:
    paths: set[str] = set(UNKNOWN)
    for route in ROUTES:
        template: str = getattr(route, "path", "/")
        for value in VALUES if "{" in template else ("",):
            filled = _fill(template, value)
            paths |= {
                filled,
                filled + "/",  # trailing slash
                filled + "/extra",  # one segment more
                "/" + filled,  # empty first segment
                filled.rsplit("/", 1)[0] or "/",  # one segment less
                filled.replace("/v1/", "/v1//"),  # empty segment inside
            }
        if "{" in template:
            paths.add(_fill(template, ""))  # an empty parameter
    return sorted(paths)


async def _resolve(router: Router, method: str, path: str) -> Outcome:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "server": ("testserver", 80),
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await router(scope, receive, send)
    headers = dict(sent[0].get("headers", []))
    body = b"".join(m.get("body", b"") for m in sent[1:])
    location, allow = headers.get(b"location"), headers.get(b"allow")
    return (
        sent[0]["status"],
        None if location is None else location.decode(),
        None if allow is None else allow.decode(),
        body,
    )


PROBES = _probes(list(ROUTES))
PATHS = _sample_paths()


@pytest.mark.parametrize("path", PATHS, ids=repr)
async def test_the_table_and_starlette_resolve_a_path_alike(path: str) -> None:
    table, starlette = RouteTable(PROBES), Router(PROBES)
    for method in METHODS:
        ours = await _resolve(table, method, path)
        theirs = await _resolve(starlette, method, path)
        assert ours == theirs, (method, path)


async def test_the_samples_reach_every_route_and_every_answer() -> None:
    statuses: set[int] = set()
    reached: set[int] = set()
    table = RouteTable(PROBES)
    for path in PATHS:
        for method in METHODS:
            status, _, _, body = await _resolve(table, method, path)
            statuses.add(status)
            if status == 200 and body:
                reached.add(json.loads(body)["route"])
    http_routes = {i for i, r in enumerate(PROBES) if isinstance(r, Route)}
    assert reached == http_routes
    assert {200, 307, 404, 405} <= statuses
