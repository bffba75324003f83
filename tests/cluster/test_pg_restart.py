"""PostgreSQL restarts under two real `faceplate serve` processes while a turn streams: every
socket either receives every frame of the turn or is closed 1013 (reconnect and catch up),
never a silent gap; afterwards both instances serve one turn to each other's sockets."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.instances import Instances, Socket
from tests.support.pgserver import RestartablePostgres
from tests.support.scripted_llm import ScriptedLLM

_SETTINGS = {"FACEPLATE_TURN_LEASE_S": "3", "FACEPLATE_LIMIT_TURNS_PER_MINUTE": "10000"}


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture
def cluster(
    restartable_pg: RestartablePostgres, tmp_path: Path, llm: ScriptedLLM
) -> Iterator[Instances]:
    url = restartable_pg.new_database(f"r_{uuid.uuid4().hex}")
    with Instances(url, tmp_path, llm, **_SETTINGS) as instances:
        instances.start("a", "b")
        yield instances


def _outcome(sock: Socket) -> tuple[list[dict[str, Any]], int | None]:
    """The turn's frames this socket got, and its close code if it was closed first."""
    frames: list[dict[str, Any]] = []
    try:
        while True:
            frame = sock.next(timeout_s=90)
            frames.append(frame)
            if frame["type"] == "turn_end":
                return frames, None
    except ConnectionClosed as closed:
        return frames, None if closed.rcvd is None else closed.rcvd.code


def test_every_socket_gets_every_frame_or_is_closed_1013(
    cluster: Instances, llm: ScriptedLLM, restartable_pg: RestartablePostgres
) -> None:
    headers = cluster.headers()
    response = cluster["a"].http("POST", "/v1/conversations", headers, json={})
    conversation_id = response.json()["id"]
    llm.reply_text([f"w{i} " for i in range(1500)], delay_s=0.01)
    with (
        cluster["a"].socket(conversation_id, headers) as on_a,
        cluster["b"].socket(conversation_id, headers) as on_b,
    ):
        on_a.send({"type": "user_message", "content": "talk"})
        before_b = on_b.deltas(10)
        restartable_pg.restart(mode="fast")
        outcomes = {"a": _outcome(on_a), "b": _outcome(on_b)}
    outcomes["b"] = (before_b + outcomes["b"][0], outcomes["b"][1])
    for name, (frames, code) in outcomes.items():
        turn = [f for f in frames if "seq" in f]
        seqs = [f["seq"] for f in turn]
        # A's socket read its first frames before the restart too: its seqs start later.
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), (name, seqs)
        assert code in (None, 1013), (name, code)
        if code is None:
            assert frames[-1]["type"] == "turn_end", name
    # Back on their feet: a new turn on B reaches a new socket on A.
    llm.reply_text(["after", " the restart"])
    with (
        cluster["a"].socket(conversation_id, headers) as on_a,
        cluster["b"].socket(conversation_id, headers) as on_b,
    ):
        if on_b.ready["turn"] is not None:  # the first turn may still be ending
            on_b.until("turn_end", timeout_s=90)
            on_a.until("turn_end", timeout_s=90)
        on_b.send({"type": "user_message", "content": "again"})
        seen_b = on_b.until("turn_end", timeout_s=90)
        seen_a = on_a.until("turn_end", timeout_s=90)
    assert seen_a == seen_b and seen_b[-1]["status"] == "completed"
