"""Two app instances on one database, each with its own listener: one service to a client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from faceplate.app import create_app
from faceplate.relay import messages as m
from faceplate.relay.fanout import ClusterFanout
from faceplate.turns.frames import CloseCode
from tests.support.app import bearer, dev_settings, dev_token
from tests.support.scripted_llm import ScriptedLLM
from tests.turns.helpers import (
    Frame,
    assert_numbered,
    connect,
    deltas,
    new_conversation,
    receive,
    state_of,
    stored,
    text_of,
    until,
)

CHUNKS = [f"w{i} " for i in range(60)]


def _app(database_url: str, data: Path, llm: ScriptedLLM, name: str, **extra: Any) -> TestClient:
    settings = dev_settings(
        database_url,
        data,
        llm="openai",
        llm_base_url=llm.base_url,
        llm_api_key="test-key",
        llm_model=llm.model,
        instance_id=name,
        turn_lease_s=1.5,
        **extra,
    )
    return TestClient(create_app(settings))


@pytest.fixture
def pair(
    database_url: str, tmp_path: Path, llm: ScriptedLLM
) -> Iterator[tuple[TestClient, TestClient, dict[str, str]]]:
    data = tmp_path / "data"
    with _app(database_url, data, llm, "a") as a, _app(database_url, data, llm, "b") as b:
        token = dev_token(state_of(a).settings, "alice@example.com")
        yield a, b, bearer(token)


def _turn(frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if f["type"] != "ready"]


def _ready(ws: WebSocketTestSession) -> Frame:
    frame = receive(ws)
    assert frame["type"] == "ready"
    return frame


def test_a_socket_on_another_instance_gets_every_frame_in_order(
    pair: tuple[TestClient, TestClient, dict[str, str]], llm: ScriptedLLM
) -> None:
    a, b, alice = pair
    llm.reply_text(CHUNKS, delay_s=0.005)
    conversation = new_conversation(a, alice)
    with connect(a, conversation, alice) as on_a, connect(b, conversation, alice) as on_b:
        assert _ready(on_a)["turn"] is None
        assert _ready(on_b)["turn"] is None
        on_a.send_json({"type": "user_message", "content": "talk"})
        seen_a = until(on_a, "turn_end")
        seen_b = until(on_b, "turn_end")
    assert seen_b == seen_a
    assert_numbered(seen_a)
    assert text_of(seen_b) == "".join(CHUNKS)
    assert seen_b[-1]["status"] == "completed"


def test_joining_from_another_instance_mid_turn_catches_up_without_gap(
    pair: tuple[TestClient, TestClient, dict[str, str]], llm: ScriptedLLM
) -> None:
    a, b, alice = pair
    llm.reply_text(CHUNKS, delay_s=0.02)
    seq, rest, seen_a = _join_mid_turn(a, b, alice)
    assert rest == [f for f in seen_a if f.get("seq", 0) > seq]


def _join_mid_turn(
    a: TestClient, b: TestClient, alice: dict[str, str]
) -> tuple[int, list[Frame], list[Frame]]:
    """A turn started on A, joined from B after its third delta and read to its end on both:
    B's catch-up carries the snapshot's seq, the frames after it follow without a gap, and
    catch-up and frames make the model's whole text. The snapshot's seq, B's frames after the
    catch-up, and A's frames."""
    conversation = new_conversation(a, alice)
    with connect(a, conversation, alice) as on_a:
        _ready(on_a)
        on_a.send_json({"type": "user_message", "content": "talk"})
        deltas(on_a, 3)
        with connect(b, conversation, alice) as on_b:
            turn = _ready(on_b)["turn"]
            assert turn is not None and turn["seq"] >= 3
            catch_up = receive(on_b)
            assert catch_up["type"] == "text_delta" and catch_up["seq"] == turn["seq"]
            rest = until(on_b, "turn_end")
        seen_a = until(on_a, "turn_end")
    assert [f["seq"] for f in rest] == list(range(turn["seq"] + 1, rest[-1]["seq"] + 1))
    assert catch_up["delta"] + text_of(rest) == "".join(CHUNKS)
    return int(turn["seq"]), rest, seen_a


def test_a_join_lost_on_its_way_to_the_owner_is_asked_again(
    pair: tuple[TestClient, TestClient, dict[str, str]], llm: ScriptedLLM
) -> None:
    """A NOTIFY sent while the owner's listener reconnects reaches nobody: the joining instance
    asks again, rather than leaving the socket to time out with 1013."""
    a, b, alice = pair
    llm.reply_text(CHUNKS, delay_s=0.05)
    owner = state_of(a).turns.fanout
    assert isinstance(owner, ClusterFanout)
    handle = owner._handle
    lost: list[m.Join] = []

    def losing_the_first_join(sender: str, message: str) -> None:
        header, _ = m.decode(message)
        if isinstance(header, m.Join) and not lost:
            lost.append(header)
            return
        handle(sender, message)

    owner._handle = losing_the_first_join  # type: ignore[method-assign]
    _join_mid_turn(a, b, alice)
    assert len(lost) == 1


def test_a_message_on_another_instance_while_a_turn_runs_is_refused(
    pair: tuple[TestClient, TestClient, dict[str, str]], llm: ScriptedLLM
) -> None:
    a, b, alice = pair
    llm.reply_text(CHUNKS, delay_s=0.02)
    conversation = new_conversation(a, alice)
    with connect(a, conversation, alice) as on_a, connect(b, conversation, alice) as on_b:
        _ready(on_a)
        _ready(on_b)
        on_a.send_json({"type": "user_message", "content": "talk"})
        deltas(on_a, 1)
        on_b.send_json({"type": "user_message", "content": "me too"})
        frames = until(on_b, "error")
        assert frames[-1]["code"] == "turn_in_progress"
        until(on_a, "turn_end")
        until(on_b, "turn_end")
    users = [m for m in stored(a, alice, conversation) if m["role"] == "user"]
    assert [m["content"] for m in users] == ["talk"]


def test_cancel_from_another_instance_stops_the_turn(
    pair: tuple[TestClient, TestClient, dict[str, str]], llm: ScriptedLLM
) -> None:
    a, b, alice = pair
    llm.reply_text([f"w{i} " for i in range(2000)], delay_s=0.01)
    conversation = new_conversation(a, alice)
    with connect(a, conversation, alice) as on_a, connect(b, conversation, alice) as on_b:
        _ready(on_a)
        _ready(on_b)
        on_a.send_json({"type": "user_message", "content": "talk"})
        deltas(on_b, 2)
        on_b.send_json({"type": "cancel"})
        end_b = until(on_b, "turn_end")[-1]
        end_a = until(on_a, "turn_end")[-1]
    assert end_a == end_b
    assert end_a["status"] == "cancelled"
    assert stored(a, alice, conversation)[-1]["finish_reason"] == "cancelled"


def test_delete_on_another_instance_closes_every_socket_4404(
    pair: tuple[TestClient, TestClient, dict[str, str]], llm: ScriptedLLM
) -> None:
    a, b, alice = pair
    llm.reply_text([f"w{i} " for i in range(2000)], delay_s=0.01)
    conversation = new_conversation(a, alice)
    with connect(a, conversation, alice) as on_a, connect(b, conversation, alice) as on_b:
        _ready(on_a)
        _ready(on_b)
        on_a.send_json({"type": "user_message", "content": "talk"})
        deltas(on_a, 2)
        assert b.delete(f"/v1/conversations/{conversation}", headers=alice).status_code == 204
        for ws in (on_a, on_b):
            with pytest.raises(WebSocketDisconnect) as closed:
                until(ws, "never")
            assert closed.value.code == CloseCode.NOT_FOUND
    assert state_of(a).turns.running(UUID(conversation)) is None


def test_a_dead_instances_turn_is_ended_for_the_sockets_of_another(
    pair: tuple[TestClient, TestClient, dict[str, str]], llm: ScriptedLLM
) -> None:
    a, b, alice = pair
    llm.reply_text([f"w{i} " for i in range(3000)], delay_s=0.01)
    conversation = new_conversation(a, alice)
    owner = state_of(a)
    with connect(b, conversation, alice) as on_b:
        _ready(on_b)
        with connect(a, conversation, alice) as on_a:
            _ready(on_a)
            on_a.send_json({"type": "user_message", "content": "talk"})
            earlier = deltas(on_b, 2)
            # Instance a freezes: no heartbeat, no frames (its lease runs out).
            assert a.portal is not None
            a.portal.call(_freeze, owner)
            frames = earlier + until(on_b, "turn_end")
        end = frames[-1]
        assert (end["status"], end["error"]["code"]) == ("failed", "interrupted")
        assert_numbered(frames)
    messages = stored(b, alice, conversation)
    assert messages[-1]["finish_reason"] == "interrupted"


async def _freeze(state: Any) -> None:
    turns = state.turns
    if turns._heartbeat is not None:
        turns._heartbeat.cancel()
    for running in turns._running.values():
        running.runner.channel._fanout = _Nowhere()


class _Nowhere:
    def publish(self, *args: object, **kwargs: object) -> None:
        return None


def test_frames_larger_than_a_notification_arrive_whole_and_in_order(
    pair: tuple[TestClient, TestClient, dict[str, str]], llm: ScriptedLLM
) -> None:
    a, b, alice = pair
    chunks = ["é" * 30_000, "x" * 9_000, "tail"]
    llm.reply_text(chunks)
    conversation = new_conversation(a, alice)
    with connect(a, conversation, alice) as on_a, connect(b, conversation, alice) as on_b:
        _ready(on_a)
        _ready(on_b)
        on_a.send_json({"type": "user_message", "content": "big"})
        seen_a = until(on_a, "turn_end")
        seen_b = until(on_b, "turn_end")
    assert seen_b == seen_a
    assert text_of(seen_b) == "".join(chunks)


def test_a_lost_listener_closes_remote_sockets_1013_and_a_rejoin_catches_up(
    pair: tuple[TestClient, TestClient, dict[str, str]], llm: ScriptedLLM
) -> None:
    a, b, alice = pair
    llm.reply_text([f"w{i} " for i in range(3000)], delay_s=0.01)
    conversation = new_conversation(a, alice)
    with connect(a, conversation, alice) as on_a:
        _ready(on_a)
        with connect(b, conversation, alice) as on_b:
            _ready(on_b)
            on_a.send_json({"type": "user_message", "content": "talk"})
            deltas(on_b, 2)
            assert a.portal is not None
            a.portal.call(_kill_listeners, state_of(a))
            with pytest.raises(WebSocketDisconnect) as closed:
                until(on_b, "never")
            assert closed.value.code == CloseCode.TOO_SLOW
        with connect(b, conversation, alice) as again:
            ready = _ready(again)
            assert ready["turn"] is not None
            catch_up = receive(again)
            assert catch_up["seq"] == ready["turn"]["seq"]
            again.send_json({"type": "cancel"})
            rest = until(again, "turn_end")
        assert [f["seq"] for f in rest] == list(
            range(ready["turn"]["seq"] + 1, ready["turn"]["seq"] + 1 + len(rest))
        )
        assert until(on_a, "turn_end")[-1] == rest[-1]


async def _kill_listeners(state: Any) -> None:
    async with state.db.connection() as conn:
        await conn.execute(
            "SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity AS a "
            "WHERE a.query LIKE 'LISTEN%' AND a.datname = current_database()"
        )


def test_notifications_per_turn_are_bounded_by_its_frames_not_its_tokens(
    pair: tuple[TestClient, TestClient, dict[str, str]], llm: ScriptedLLM
) -> None:
    a, b, alice = pair
    tokens = [f"t{i} " for i in range(2000)]
    llm.reply_text(tokens)
    conversation = new_conversation(a, alice)
    quiet = new_conversation(a, alice)  # nobody watches it elsewhere
    stats = state_of(a).turns.fanout._notifier.stats  # type: ignore[attr-defined]
    with connect(a, conversation, alice) as on_a, connect(b, conversation, alice) as on_b:
        _ready(on_a)
        _ready(on_b)
        before = stats.messages
        on_a.send_json({"type": "user_message", "content": "talk"})
        seen = until(on_b, "turn_end")
        until(on_a, "turn_end")
    assert a.portal is not None
    a.portal.call(state_of(a).turns.fanout._notifier.flush)  # type: ignore[attr-defined]
    assert text_of(seen) == "".join(tokens)
    assert stats.messages - before == len(seen) + 1  # each frame once, and the turn's end
    assert stats.messages - before < len(tokens) / 10
    llm.reply_text(["alone"])
    with connect(a, quiet, alice) as ws:
        _ready(ws)
        before = stats.messages
        ws.send_json({"type": "user_message", "content": "hello"})
        until(ws, "turn_end")
    a.portal.call(state_of(a).turns.fanout._notifier.flush)  # type: ignore[attr-defined]
    assert stats.messages == before  # nothing sent for a conversation nobody watches elsewhere


def test_frames_relayed_from_another_instance_are_timed_in_the_lag_metric(
    database_url: str, tmp_path: Path, llm: ScriptedLLM
) -> None:
    data = tmp_path / "data"
    with (
        _app(database_url, data, llm, "a", metrics=True) as a,
        _app(database_url, data, llm, "b", metrics=True) as b,
    ):
        alice = bearer(dev_token(state_of(a).settings, "alice@example.com"))
        llm.reply_text(CHUNKS, delay_s=0.005)
        conversation = new_conversation(a, alice)
        with connect(b, conversation, alice) as on_b:
            assert _ready(on_b)["turn"] is None
            with connect(a, conversation, alice) as on_a:
                _ready(on_a)
                on_a.send_json({"type": "user_message", "content": "talk"})
                until(on_a, "turn_end")
            relayed = until(on_b, "turn_end")
        counts = {
            name: _sample(client.get("/metrics").text, "faceplate_notify_lag_seconds_count")
            for name, client in (("a", a), ("b", b))
        }
    # b received every frame of a's turn through notifications; a received none.
    assert counts["b"] >= len(_turn(relayed)) - 1 > 0
    assert counts["a"] == 0


def _sample(exposition: str, name: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the scrape")
