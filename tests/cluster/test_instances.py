"""Two and three real `faceplate serve` processes on one database behave, to a client, as one
service (CONTRACT §10, "Several instances"). One set of processes serves the module; a test that
kills or stops one starts it again before it ends."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp.server.transport_security import TransportSecuritySettings

from tests.conftest import TEMPLATE, _scratch_database
from tests.mcp_client.servers import serve_in_thread
from tests.mcp_client.toolbox import Recorder, build_server
from tests.support.instances import Instances, Socket
from tests.support.scripted_llm import ScriptedCall, ScriptedLLM

_ANY_HOST = TransportSecuritySettings(enable_dns_rebinding_protection=False)
# A long answer streamed slowly: a turn still running whatever the test does meanwhile.
_LONG = [f"w{i} " for i in range(3000)]
# A short lease: a dead owner's turns are taken over within seconds, not the default 15; one
# user runs every turn of the module, more than the default per-minute limit.
_SETTINGS = {
    "FACEPLATE_TURN_LEASE_S": "2",
    "FACEPLATE_LIMIT_TURNS_PER_MINUTE": "10000",
    "FACEPLATE_LIMIT_TURNS_PER_USER": "100",
}


@pytest.fixture(scope="module")
def module_database(pg_server_url: str, template_url: str) -> Iterator[str]:
    yield from _scratch_database(pg_server_url, "cl", TEMPLATE)


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def mcp() -> Iterator[tuple[str, Recorder]]:
    """A real MCP server (the test toolbox) that records each call of its `sleep` tool."""
    recorder = Recorder()
    app = build_server(recorder.event).streamable_http_app(transport_security=_ANY_HOST)
    with serve_in_thread(app) as url:
        yield f"{url}/mcp", recorder


@pytest.fixture(scope="module")
def cluster(
    module_database: str, tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLM
) -> Iterator[Instances]:
    directory = tmp_path_factory.mktemp("instances")
    with Instances(module_database, directory, llm, **_SETTINGS) as instances:
        instances.start("a", "b")
        yield instances


@pytest.fixture(autouse=True)
def _fresh(cluster: Instances, llm: ScriptedLLM, request: pytest.FixtureRequest) -> Iterator[None]:
    llm.clear()
    for name in ("a", "b"):
        if not cluster[name].alive:
            cluster.start(name)
    yield
    llm.clear()


def _conversation(cluster: Instances) -> str:
    response = cluster["a"].http("POST", "/v1/conversations", cluster.headers(), json={})
    assert response.status_code == 201, response.text
    conversation_id: str = response.json()["id"]
    return conversation_id


def _messages(cluster: Instances, on: str, conversation_id: str) -> list[dict[str, Any]]:
    path = f"/v1/conversations/{conversation_id}/messages"
    response = cluster[on].http("GET", path, cluster.headers())
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _turn(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The frames of a turn: those that carry a seq."""
    return [f for f in frames if "seq" in f]


def _gapless(frames: list[dict[str, Any]], first: int = 1) -> None:
    seqs = [f["seq"] for f in _turn(frames)]
    assert seqs == list(range(first, first + len(seqs))), seqs


def test_a_socket_on_b_receives_every_frame_of_a_turn_on_a(
    cluster: Instances, llm: ScriptedLLM
) -> None:
    conversation_id = _conversation(cluster)
    llm.reply_text(["Hello", " from", " A."], delay_s=0.05)
    headers = cluster.headers()
    with (
        cluster["a"].socket(conversation_id, headers) as on_a,
        cluster["b"].socket(conversation_id, headers) as on_b,
    ):
        on_a.send({"type": "user_message", "content": "hi"})
        seen_a = on_a.until("turn_end")
        seen_b = on_b.until("turn_end")
    assert seen_a == seen_b
    assert seen_b[0]["type"] == "message" and seen_b[0]["message"]["role"] == "user"
    assert seen_b[-1]["status"] == "completed"
    _gapless(seen_b)
    text = "".join(f["delta"] for f in seen_b if f["type"] == "text_delta")
    assert text == "Hello from A."


def test_joining_from_b_mid_stream_catches_up_then_streams_live(
    cluster: Instances, llm: ScriptedLLM
) -> None:
    conversation_id = _conversation(cluster)
    llm.reply_text(_LONG[:300], delay_s=0.01)
    headers = cluster.headers()
    with cluster["a"].socket(conversation_id, headers) as on_a:
        on_a.send({"type": "user_message", "content": "talk"})
        on_a.deltas(20)
        with cluster["b"].socket(conversation_id, headers) as on_b:
            turn = on_b.ready["turn"]
            assert turn is not None, on_b.ready
            catch_up = on_b.next()
            assert catch_up["type"] == "text_delta" and catch_up["seq"] == turn["seq"]
            assert catch_up["message_id"] == turn["message_id"]
            live = on_b.until("turn_end")
        seen_a = on_a.until("turn_end")
    _gapless(live, first=turn["seq"] + 1)
    assert [f for f in seen_a if f.get("seq", 0) > turn["seq"]] == live
    streamed = catch_up["delta"] + "".join(f["delta"] for f in live if f["type"] == "text_delta")
    assert streamed == "".join(_LONG[:300])
    assert live[-1]["status"] == "completed"


def test_a_user_message_on_b_while_a_runs_a_turn_is_refused(
    cluster: Instances, llm: ScriptedLLM
) -> None:
    conversation_id = _conversation(cluster)
    llm.reply_text(_LONG, delay_s=0.01)
    headers = cluster.headers()
    with (
        cluster["a"].socket(conversation_id, headers) as on_a,
        cluster["b"].socket(conversation_id, headers) as on_b,
    ):
        on_a.send({"type": "user_message", "content": "first"})
        on_b.deltas(3)
        on_b.send({"type": "user_message", "content": "second"})
        refused = on_b.until("error")[-1]
        assert refused["code"] == "turn_in_progress"
        on_a.send({"type": "cancel"})
        on_a.until("turn_end")
    stored = _messages(cluster, "b", conversation_id)
    assert [m["content"] for m in stored if m["role"] == "user"] == ["first"]


def test_two_user_messages_racing_on_two_instances_start_one_turn(
    cluster: Instances, llm: ScriptedLLM
) -> None:
    conversation_id = _conversation(cluster)
    llm.reply_text(["one answer"], delay_s=0.2)
    llm.reply_text(["a second answer would be a bug"])
    headers = cluster.headers()
    with (
        cluster["a"].socket(conversation_id, headers) as on_a,
        cluster["b"].socket(conversation_id, headers) as on_b,
    ):
        barrier = threading.Barrier(2)

        def race(sock: Socket, content: str) -> None:
            barrier.wait()
            sock.send({"type": "user_message", "content": content})

        threads = [
            threading.Thread(target=race, args=(on_a, "from a")),
            threading.Thread(target=race, args=(on_b, "from b")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seen_a = on_a.until("turn_end")
        seen_b = on_b.until("turn_end")
    starts = {f["turn_id"] for f in seen_a + seen_b if f["type"] == "turn_start"}
    assert len(starts) == 1
    refusals = [f for f in on_a.seen + on_b.seen if f.get("code") == "turn_in_progress"]
    assert len(refusals) == 1
    stored = _messages(cluster, "a", conversation_id)
    assert len([m for m in stored if m["role"] == "user"]) == 1
    assert llm.pending == 1  # the model was asked once


def test_cancel_from_b_stops_the_turn_running_on_a(cluster: Instances, llm: ScriptedLLM) -> None:
    conversation_id = _conversation(cluster)
    llm.reply_text(_LONG, delay_s=0.01)
    headers = cluster.headers()
    with (
        cluster["a"].socket(conversation_id, headers) as on_a,
        cluster["b"].socket(conversation_id, headers) as on_b,
    ):
        on_a.send({"type": "user_message", "content": "talk"})
        on_b.deltas(5)
        on_b.send({"type": "cancel"})
        end_b = on_b.until("turn_end")[-1]
        end_a = on_a.until("turn_end")[-1]
    assert end_a == end_b and end_b["status"] == "cancelled"
    assistant = _messages(cluster, "b", conversation_id)[-1]
    assert assistant["finish_reason"] == "cancelled"
    assert len(assistant["content"]) < len("".join(_LONG))  # the model's stream was aborted


def test_delete_on_b_closes_every_socket_on_every_instance(
    cluster: Instances, llm: ScriptedLLM
) -> None:
    conversation_id = _conversation(cluster)
    llm.reply_text(_LONG, delay_s=0.01)
    headers = cluster.headers()
    with (
        cluster["a"].socket(conversation_id, headers) as on_a,
        cluster["b"].socket(conversation_id, headers) as on_b,
    ):
        on_a.send({"type": "user_message", "content": "talk"})
        on_b.deltas(3)
        response = cluster["b"].http("DELETE", f"/v1/conversations/{conversation_id}", headers)
        assert response.status_code == 204, response.text
        assert on_a.closed_with() == 4404
        assert on_b.closed_with() == 4404
    gone = cluster["a"].http("GET", f"/v1/conversations/{conversation_id}", headers)
    assert gone.status_code == 404


def test_starting_another_instance_leaves_a_running_turn_alone(
    cluster: Instances, llm: ScriptedLLM
) -> None:
    conversation_id = _conversation(cluster)
    llm.reply_text(_LONG, delay_s=0.01)
    headers = cluster.headers()
    try:
        with cluster["a"].socket(conversation_id, headers) as on_a:
            on_a.send({"type": "user_message", "content": "talk"})
            seen = on_a.deltas(5)
            (c,) = cluster.start("c")
            with c.socket(conversation_id, headers) as on_c:
                assert on_c.ready["turn"] is not None  # still running, and seen from C
                seen += on_a.deltas(20)  # and going on after C started
                on_c.send({"type": "cancel"})
                seen += on_a.until("turn_end")
        assert seen[-1]["status"] == "cancelled"
        _gapless(seen)
        assistant = _messages(cluster, "c", conversation_id)[-1]
        assert assistant["finish_reason"] == "cancelled"  # never "interrupted" by C's start
    finally:
        cluster["c"].close()


def test_an_owner_killed_mid_stream_has_its_turn_finished_by_a_survivor(
    cluster: Instances, llm: ScriptedLLM
) -> None:
    conversation_id = _conversation(cluster)
    llm.reply_text(_LONG, delay_s=0.01)
    llm.reply_text(["after", " the crash"])
    headers = cluster.headers()
    with (
        cluster["a"].socket(conversation_id, headers) as on_a,
        cluster["b"].socket(conversation_id, headers) as on_b,
    ):
        on_a.send({"type": "user_message", "content": "talk"})
        seen = on_b.deltas(20)
        cluster["a"].kill()
        seen += on_b.until("turn_end")
        end = seen[-1]
        assert end["status"] == "failed" and end["error"]["code"] == "interrupted"
        _gapless(seen)
        stored = _messages(cluster, "b", conversation_id)[-1]
        assert stored["finish_reason"] == "interrupted"
        streamed = "".join(f["delta"] for f in seen if f["type"] == "text_delta")
        assert stored["content"] and streamed.startswith(stored["content"])
        on_b.send({"type": "user_message", "content": "again"})
        assert on_b.until("turn_end")[-1]["status"] == "completed"


def test_an_owner_killed_mid_tool_call_is_finished_without_running_the_tool_again(
    cluster: Instances, llm: ScriptedLLM, mcp: tuple[str, Recorder]
) -> None:
    url, recorder = mcp
    headers = cluster.headers()
    config = cluster["a"].http(
        "POST",
        "/v1/mcp-configs",
        headers,
        json={"name": "Box", "config": {"transport": "streamable_http", "url": url}},
    )
    assert config.status_code == 201, config.text
    conversation_id = _conversation(cluster)
    label = f"crash-{conversation_id}"
    call = ScriptedCall(name="box__sleep", arguments={"seconds": 120, "label": label})
    llm.reply_tool_calls([call])
    llm.reply_text(["The tool was interrupted."])
    try:
        with (
            cluster["a"].socket(conversation_id, headers) as on_a,
            cluster["b"].socket(conversation_id, headers) as on_b,
        ):
            on_a.send({"type": "user_message", "content": "sleep"})
            seen = on_b.until("tool_call")
            _wait(lambda: label in recorder.sleeping)
            cluster["a"].kill()
            seen += on_b.until("turn_end")
            end = seen[-1]
            assert end["status"] == "failed" and end["error"]["code"] == "interrupted"
            _gapless(seen)
            stored = _messages(cluster, "b", conversation_id)
            tool = [m for m in stored if m["role"] == "tool"]
            assert len(tool) == 1
            (result,) = tool[0]["tool_results"]
            assert result["is_error"] is True
            assert "interrupted: the outcome is unknown" in result["content"][0]["text"]
            on_b.send({"type": "user_message", "content": "and now?"})
            assert on_b.until("turn_end")[-1]["status"] == "completed"
        assert recorder.sleeping.count(label) == 1  # never run again
    finally:
        cluster["b"].http("DELETE", f"/v1/mcp-configs/{config.json()['id']}", headers)


def test_sigterm_drains_turn_end_before_1012_and_refuses_new_turns(
    cluster: Instances, llm: ScriptedLLM
) -> None:
    running = _conversation(cluster)
    other = _conversation(cluster)
    llm.reply_text(_LONG[:200], delay_s=0.01)
    headers = cluster.headers()
    with (
        cluster["a"].socket(running, headers) as on_a,
        cluster["a"].socket(other, headers) as idle_on_a,
        cluster["b"].socket(running, headers) as on_b,
    ):
        on_a.send({"type": "user_message", "content": "talk"})
        on_a.deltas(3)
        cluster["a"].terminate()
        idle_on_a.send({"type": "user_message", "content": "too late"})
        refused = idle_on_a.until("error")[-1]
        assert refused["code"] == "unavailable"
        seen = on_a.until("turn_end")
        assert seen[-1]["status"] == "completed"
        assert on_a.closed_with() == 1012
        assert idle_on_a.closed_with() == 1012
        assert on_b.until("turn_end")[-1]["status"] == "completed"
    # uvicorn ends by raising the signal again once it has shut down.
    assert cluster["a"].wait() in (0, -signal.SIGTERM)
    assert _messages(cluster, "b", running)[-1]["content"] == "".join(_LONG[:200])


def _wait(condition: Any, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)


@pytest.fixture
def workers(module_database: str, tmp_path: Path, llm: ScriptedLLM) -> Iterator[Instances]:
    with Instances(module_database, tmp_path, llm, **_SETTINGS) as instances:
        instances.start("w", args=("--workers", "2"))
        yield instances


def test_serve_with_two_workers_is_one_service(workers: Instances, llm: ScriptedLLM) -> None:
    served = workers["w"]
    headers = workers.headers()
    response = served.http("POST", "/v1/conversations", headers, json={})
    conversation_id = response.json()["id"]
    llm.reply_text(_LONG[:200], delay_s=0.01)
    # Enough sockets that, whatever the kernel's balance, both workers hold some.
    with served.socket(conversation_id, headers) as first:
        others = [served.socket(conversation_id, headers) for _ in range(5)]
        socks = [cm.__enter__() for cm in others]
        try:
            first.send({"type": "user_message", "content": "talk"})
            seen = first.until("turn_end")
            for sock in socks:
                assert sock.until("turn_end") == seen
            llm.reply_text(["ok"])
            socks[-1].send({"type": "user_message", "content": "again"})
            assert first.until("turn_end")[-1]["status"] == "completed"
        finally:
            for cm in others:
                cm.__exit__(None, None, None)
