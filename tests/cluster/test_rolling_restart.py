"""A rolling restart of every instance under streaming turns (CONTRACT §10): SIGTERM A while
turns stream, start A' in its place, then SIGTERM B. Every turn ends with `turn_end` before its
socket's close, the stored text of every turn is what its sockets received, and only the turns
still running past FACEPLATE_SHUTDOWN_GRACE_S are cut, `interrupted` with their text so far."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import TEMPLATE, _scratch_database
from tests.support.instances import Instance, Instances, Socket
from tests.support.scripted_llm import ScriptedLLM

_GRACE_S = 3
# A short answer (about 1.5 s) ends within the grace; a long one (a minute) cannot, however
# long the turns before it took to start.
_SHORT = [f"s{i} " for i in range(30)]
_SHORT_DELAY_S = 0.05
_LONG = [f"l{i} " for i in range(3000)]
_LONG_DELAY_S = 0.02
_TURNS_PER_WAVE = 8  # 16 turns in all (25 a wave, 50 in all, passes as well; slower)
_SETTINGS = {
    "FACEPLATE_SHUTDOWN_GRACE_S": str(_GRACE_S),
    "FACEPLATE_TURN_LEASE_S": "2",
    "FACEPLATE_LIMIT_TURNS_PER_MINUTE": "10000",
    "FACEPLATE_LIMIT_TURNS_PER_USER": "1000",
    "FACEPLATE_LIMIT_SOCKETS_PER_USER": "1000",
}


@pytest.fixture
def database(pg_server_url: str, template_url: str) -> Iterator[str]:
    yield from _scratch_database(pg_server_url, "roll", TEMPLATE)


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture
def cluster(database: str, tmp_path: Path, llm: ScriptedLLM) -> Iterator[Instances]:
    with Instances(database, tmp_path, llm, **_SETTINGS) as instances:
        yield instances


@dataclass
class _Turn:
    conversation_id: str
    owner: str  # where its user_message was sent
    long: bool
    sockets: dict[str, Socket] = field(default_factory=dict)  # instance name → socket
    closed: dict[str, int | None] = field(default_factory=dict)  # close code, if it closed


def _read(turn: _Turn, name: str, victim: str) -> None:
    """A socket on the stopping instance reads until it is closed; one on the survivor until
    its turn's turn_end (it stays open)."""
    sock = turn.sockets[name]
    try:
        while True:
            frame = sock.next(90)
            if name != victim and frame["type"] == "turn_end":
                return
    except ConnectionClosed as closed:
        turn.closed[name] = None if closed.rcvd is None else closed.rcvd.code


def _wave(
    cluster: Instances, llm: ScriptedLLM, victim: Instance, survivor: Instance
) -> list[_Turn]:
    """Turns on both instances, each watched from the other; SIGTERM `victim` while they
    stream; every socket read to its end."""
    headers = cluster.headers()
    turns: list[_Turn] = []
    with ExitStack() as stack:
        for i in range(_TURNS_PER_WAVE):
            response = survivor.http("POST", "/v1/conversations", headers, json={})
            assert response.status_code == 201, response.text
            owner = victim if i % 2 == 0 else survivor
            turn = _Turn(response.json()["id"], owner.name, long=owner is victim and i % 4 == 0)
            for instance in (victim, survivor):
                turn.sockets[instance.name] = stack.enter_context(
                    instance.socket(turn.conversation_id, headers)
                )
            if turn.long:
                llm.reply_text(_LONG, delay_s=_LONG_DELAY_S)
            else:
                llm.reply_text(_SHORT, delay_s=_SHORT_DELAY_S)
            sender = turn.sockets[owner.name]
            sender.send({"type": "user_message", "content": f"turn {i}"})
            sender.deltas(1)  # streaming; and the model took this turn's reply, in order
            turns.append(turn)
        victim.terminate()
        readers = [
            threading.Thread(target=_read, args=(turn, name, victim.name))
            for turn in turns
            for name in turn.sockets
        ]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
        victim.wait()
    return turns


def _seq_frames(sock: Socket) -> list[dict[str, Any]]:
    return [f for f in sock.seen if "seq" in f]


def _check(cluster: Instances, turns: list[_Turn], victim: str, survivor: Instance) -> list[str]:
    """Every turn against the contract; returns each turn's outcome."""
    outcomes = []
    for turn in turns:
        owner = turn.sockets[turn.owner]
        frames = _seq_frames(owner)
        assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
        end = frames[-1]
        assert end["type"] == "turn_end", (turn, frames[-3:])
        if turn.owner == victim:
            # Its own sockets everywhere got the whole turn, turn_end last before the close.
            for name, sock in turn.sockets.items():
                assert _seq_frames(sock) == frames, name
            assert owner.seen[-1]["type"] == "turn_end"
            assert turn.closed[victim] == 1012
        else:
            # The stopping instance's socket on a turn running elsewhere: 1012, having seen the
            # turn's frames so far, in order (its client reconnects and catches up).
            watched = _seq_frames(turn.sockets[victim])
            assert watched == frames[: len(watched)]
            assert turn.closed[victim] == 1012
            assert survivor.name not in turn.closed
        text = "".join(f["delta"] for f in frames if f["type"] == "text_delta")
        path = f"/v1/conversations/{turn.conversation_id}/messages"
        response = survivor.http("GET", path, cluster.headers())
        assert response.status_code == 200, response.text
        stored = response.json()["items"][-1]
        assert stored["role"] == "assistant"
        assert stored["content"] == text, (turn, end)
        if end["status"] == "completed":
            assert stored["finish_reason"] == "stop"
            assert text == "".join(_LONG if turn.long else _SHORT)
            outcomes.append("completed")
        else:
            assert end["status"] == "failed" and end["error"]["code"] == "interrupted", end
            assert stored["finish_reason"] == "interrupted"
            assert turn.owner == victim  # only the stopping instance's turns are cut
            outcomes.append("interrupted")
        if turn.long:
            assert outcomes[-1] == "interrupted"  # a minute of answer cannot end in a 3 s grace
    return outcomes


def test_a_rolling_restart_of_every_instance_loses_no_text(
    cluster: Instances, llm: ScriptedLLM
) -> None:
    a, b = cluster.start("a", "b")
    first = _wave(cluster, llm, a, b)
    assert a.wait() in (0, -signal.SIGTERM)
    outcomes = _check(cluster, first, "a", b)
    (a2,) = cluster.start("a")  # A' in A's place, then B goes
    second = _wave(cluster, llm, b, a2)
    outcomes += _check(cluster, second, "b", a2)
    assert outcomes.count("interrupted") >= 2 and outcomes.count("completed") >= 8, outcomes
    # The restarted instance takes a new turn on a conversation B was streaming.
    llm.reply_text(["after", " the restart"])
    with a2.socket(second[0].conversation_id, cluster.headers()) as sock:
        assert sock.ready["turn"] is None
        sock.send({"type": "user_message", "content": "again"})
        assert sock.until("turn_end")[-1]["status"] == "completed"
