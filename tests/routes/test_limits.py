"""Per-user limits (CONTRACT §1): REST requests in any 60 s (429 with Retry-After), open
sockets (4429), MCP configs (409, race-free across instances). None applies across users."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from faceplate.app import create_app
from faceplate.limits import RequestWindows, SocketCounts
from faceplate.settings import Settings
from faceplate.turns.frames import CloseCode
from tests.routes.helpers import Headers, assert_error
from tests.support.app import bearer, dev_settings, dev_token
from tests.support.server import ServerThread
from tests.turns.helpers import connect, new_conversation, receive

CONFIG = {"transport": "sse", "url": "http://127.0.0.1:9/sse"}


@pytest.fixture
def limited(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = dev_settings(
        database_url,
        tmp_path / "data",
        limit_requests_per_minute=5,
        limit_sockets_per_user=2,
        limit_mcp_configs=3,
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def few_configs(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = dev_settings(database_url, tmp_path / "data", limit_mcp_configs=3)
    with TestClient(create_app(settings)) as client:
        yield client


# --- REST requests per minute ---------------------------------------------------------------


def test_requests_past_the_minute_s_limit_are_429_with_retry_after(
    limited: TestClient, alice: Headers, bob: Headers, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(5):
        assert limited.get("/v1/me", headers=alice).status_code == 200

    with caplog.at_level(logging.INFO, logger="faceplate.security"):
        refused = [limited.get("/v1/conversations", headers=alice) for _ in range(3)]

    for response in refused:
        assert "5 requests in 60 s" in assert_error(response, 429, "rate_limited")
        assert 1 <= int(response.headers["retry-after"]) <= 60
    assert limited.get("/v1/me", headers=bob).status_code == 200  # another user is not slowed
    hits = [r for r in caplog.records if r.getMessage().startswith("rate_limited")]
    assert len(hits) == 1  # one line per run of refusals, not one per request
    assert "rate_limited" in hits[0].getMessage() and getattr(hits[0], "user_id", None)


def test_a_refused_request_is_not_counted() -> None:
    windows = RequestWindows(2, window_s=0.5)
    user = uuid4()
    assert windows.admit(user) is None
    assert windows.admit(user) is None
    wait = windows.admit(user)
    assert wait is not None and 0 < wait <= 0.5
    time.sleep(wait + 0.05)
    assert windows.admit(user) is None  # the oldest left the window; the refused one never was


def test_the_window_slides_rather_than_resetting() -> None:
    windows = RequestWindows(2, window_s=0.4)
    user = uuid4()
    assert windows.admit(user) is None
    time.sleep(0.25)
    assert windows.admit(user) is None
    time.sleep(0.2)  # the first is out of the window, the second still in it
    assert windows.admit(user) is None
    assert windows.admit(user) is not None


def test_users_idle_for_a_window_are_forgotten() -> None:
    windows = RequestWindows(5, window_s=0.1)
    first, second = uuid4(), uuid4()
    windows.admit(first)
    time.sleep(0.15)
    windows.admit(second)  # a new user after a window: the sweep runs
    assert list(windows._users) == [second]


# --- sockets per user ------------------------------------------------------------------------


def test_one_socket_past_the_limit_closes_4429(
    limited: TestClient, alice: Headers, bob: Headers
) -> None:
    conversation = new_conversation(limited, alice)
    with connect(limited, conversation, alice) as one, connect(limited, conversation, alice) as two:
        assert receive(one)["type"] == receive(two)["type"] == "ready"
        with (
            connect(limited, conversation, alice) as three,
            pytest.raises(WebSocketDisconnect) as closed,
        ):
            receive(three)
        assert (closed.value.code, closed.value.reason) == (
            4429,
            CloseCode.TOO_MANY_SOCKETS.reason,
        )
        other = new_conversation(limited, bob)
        with connect(limited, other, bob) as bobs:
            assert receive(bobs)["type"] == "ready"
    with connect(limited, conversation, alice) as again:
        assert receive(again)["type"] == "ready"  # closed sockets are not counted


def test_socket_counts_release_what_they_acquire() -> None:
    counts = SocketCounts(1)
    user = uuid4()
    assert counts.acquire(user) and not counts.acquire(user)
    counts.release(user)
    assert counts.open(user) == 0 and counts.acquire(user)


# --- MCP configs per user --------------------------------------------------------------------


def test_one_config_past_the_limit_is_409(
    few_configs: TestClient, alice: Headers, bob: Headers
) -> None:
    limited = few_configs
    made = [
        limited.post("/v1/mcp-configs", json={"name": f"c{n}", "config": CONFIG}, headers=alice)
        for n in range(3)
    ]
    assert [r.status_code for r in made] == [201, 201, 201]

    over = limited.post("/v1/mcp-configs", json={"name": "c3", "config": CONFIG}, headers=alice)

    assert "at most 3 MCP configs" in assert_error(over, 409, "conflict")
    theirs = limited.post("/v1/mcp-configs", json={"name": "c0", "config": CONFIG}, headers=bob)
    assert theirs.status_code == 201
    limited.delete(f"/v1/mcp-configs/{made[0].json()['id']}", headers=alice)
    again = limited.post("/v1/mcp-configs", json={"name": "c3", "config": CONFIG}, headers=alice)
    assert again.status_code == 201


def test_the_config_limit_holds_across_instances(database_url: str, tmp_path: Path) -> None:
    settings: Settings = dev_settings(database_url, tmp_path / "data", limit_mcp_configs=3)
    alice = bearer(dev_token(settings, "alice@example.com"))
    with (
        ServerThread(create_app(settings), lifespan="on") as first,
        ServerThread(create_app(settings), lifespan="on") as second,
        httpx.Client(base_url=first.url, timeout=30) as a,
        httpx.Client(base_url=second.url, timeout=30) as b,
    ):
        assert a.get("/v1/me", headers=alice).status_code == 200  # the user row exists

        def create(n: int) -> int:
            client = a if n % 2 else b
            body = {"name": f"config {n}", "config": CONFIG}
            return client.post("/v1/mcp-configs", json=body, headers=alice).status_code

        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(create, range(12)))
        listed = a.get("/v1/mcp-configs", headers=alice).json()["items"]

    assert sorted(statuses) == [201] * 3 + [409] * 9
    assert len(listed) == 3
