from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from faceplate.app import create_app
from tests.support.app import bearer, dev_settings, dev_token
from tests.turns.helpers import connect, new_conversation, receive, stored, until


@pytest.fixture
def limited(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = dev_settings(database_url, tmp_path / "data", limit_turns_per_minute=1)
    with TestClient(create_app(settings)) as client:
        yield client, bearer(dev_token(settings, "alice@example.com"))


def test_a_turn_past_the_per_minute_limit_is_refused_with_retry_after(
    limited: tuple[TestClient, dict[str, str]],
) -> None:
    client, alice = limited
    conversation = new_conversation(client, alice)
    with connect(client, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "first"})
        until(ws, "turn_end")
        ws.send_json({"type": "user_message", "content": "second"})
        refused = receive(ws)
        ws.send_json({"type": "ping"})
        assert receive(ws) == {"type": "pong"}  # the socket stays open
    assert refused["type"] == "error"
    assert refused["code"] == "rate_limited"
    assert 1 <= refused["retry_after_s"] <= 60
    assert set(refused) == {"type", "code", "message", "retry_after_s"}
    assert [m["content"] for m in stored(client, alice, conversation) if m["role"] == "user"] == [
        "first"
    ]


def test_other_errors_carry_no_retry_after(
    limited: tuple[TestClient, dict[str, str]],
) -> None:
    client, alice = limited
    conversation = new_conversation(client, alice)
    with connect(client, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "nope"})
        assert set(receive(ws)) == {"type", "code", "message"}
