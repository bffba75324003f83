"""The pieces without a database: frames, the channel's numbering and coalescing, the fan-out."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

import msgspec
import pytest

from faceplate.structs import Message, TextBlock, ToolCall, ToolResult
from faceplate.turns import frames as f
from faceplate.turns.channel import MAX_DELTA_CHARS, TurnChannel
from faceplate.turns.fanout import LocalFanout, Outbox
from faceplate.turns.frames import CloseCode
from faceplate.turns.history import NO_RESULT, for_model, title_of
from tests.turns.helpers import drain, types

CONVERSATION = UUID("01930000-0000-7000-8000-000000000001")
TURN = UUID("01930000-0000-7000-8000-000000000002")


def _message(
    role: str, *, calls: list[ToolCall] | None = None, results: list[ToolResult] | None = None
) -> Message:
    return msgspec.convert(
        {
            "id": str(uuid4()),
            "conversation_id": str(CONVERSATION),
            "role": role,
            "content": "",
            "tool_calls": calls,
            "tool_results": results,
            "finish_reason": None,
            "created_at": datetime.now(UTC),
        },
        Message,
    )


def _result(call_id: str) -> ToolResult:
    return ToolResult(
        tool_call_id=call_id,
        name="t",
        is_error=False,
        content=[TextBlock(text="ok")],
        duration_ms=1,
    )


def _channel() -> tuple[TurnChannel, Outbox]:
    fanout = LocalFanout()
    box = Outbox(max_frames=10_000, max_chars=10**9)
    fanout.subscribe(CONVERSATION, box)
    return TurnChannel(fanout, CONVERSATION, TURN, frame_interval_s=0), box


def test_server_frames_put_type_first_and_omit_what_they_do_not_carry() -> None:
    end = json.loads(f.encode(f.TurnEndFrame(turn_id=TURN, seq=3, status="completed")))
    assert list(end) == ["type", "turn_id", "seq", "status"]
    ready = json.loads(f.encode(f.ReadyFrame(conversation_id=CONVERSATION, turn=None)))
    assert ready == {"type": "ready", "conversation_id": str(CONVERSATION), "turn": None}
    user = json.loads(f.encode(f.MessageFrame(message=_message("user"))))
    assert list(user) == ["type", "message"]
    assert json.loads(f.PONG) == {"type": "pong"}


@pytest.mark.parametrize(
    ("text", "frame"),
    [
        ('{"type": "auth", "token": "t"}', f.AuthFrame(token="t")),
        ('{"content": "hi", "type": "user_message"}', f.UserMessageFrame(content="hi")),
        ('{"type": "cancel"}', f.CancelFrame()),
        ('{"type": "ping"}', f.PingFrame()),
    ],
)
def test_client_frames_decode_with_one_decoder(text: str, frame: f.ClientFrame) -> None:
    assert f.CLIENT_FRAMES.decode(text) == frame


async def test_text_pending_together_goes_out_as_one_frame() -> None:
    channel, box = _channel()
    message_id = uuid4()
    channel.start()
    for i in range(500):
        channel.text(message_id, f"{i} ")
    assert len(box) == 1  # only turn_start: the text waits for the loop
    await asyncio.sleep(0)
    frames = drain(box)
    assert types(frames) == ["turn_start", "text_delta"]
    assert frames[1]["delta"] == "".join(f"{i} " for i in range(500))
    assert frames[1]["seq"] == 2


async def test_another_frame_sends_the_pending_text_before_it() -> None:
    channel, box = _channel()
    message_id = uuid4()
    channel.start()
    channel.text(message_id, "look: ")
    call = ToolCall(id="c1", name="t", arguments={})
    channel.tool_call(message_id, call)
    channel.end("completed")
    await asyncio.sleep(0)
    frames = drain(box)
    assert types(frames) == ["turn_start", "text_delta", "tool_call", "turn_end"]
    assert [fr["seq"] for fr in frames] == [1, 2, 3, 4]


async def test_long_text_is_cut_into_frames_of_bounded_size() -> None:
    channel, box = _channel()
    channel.text(uuid4(), "x" * (MAX_DELTA_CHARS * 2 + 1))
    channel.flush()
    sizes = [len(fr["delta"]) for fr in drain(box)]
    assert sizes == [MAX_DELTA_CHARS, MAX_DELTA_CHARS, 1]


async def test_a_snapshot_carries_the_text_already_sent_and_the_last_seq() -> None:
    channel, _ = _channel()
    message_id = uuid4()
    channel.start()
    assert channel.snapshot() == (f.ReadyTurn(turn_id=TURN, message_id=None, seq=1), None)
    channel.text(message_id, "sent ")
    channel.flush()
    channel.text(message_id, "pending")
    ready, catch_up = channel.snapshot()
    assert ready == f.ReadyTurn(turn_id=TURN, message_id=message_id, seq=2)
    assert catch_up == f.TextDeltaFrame(turn_id=TURN, seq=2, message_id=message_id, delta="sent ")
    channel.flush()
    channel.message(msgspec.structs.replace(_message("assistant"), id=message_id))
    assert channel.snapshot() == (f.ReadyTurn(turn_id=TURN, message_id=None, seq=4), None)


async def test_an_outbox_that_overflows_empties_and_closes_too_slow() -> None:
    called: list[bool] = []
    box = Outbox(max_frames=2, max_chars=100, on_overflow=lambda: called.append(True))
    assert box.offer("a") and box.offer("b")
    assert not box.offer("c")
    assert (box.code, len(box), called) == (CloseCode.TOO_SLOW, 0, [True])
    assert await box.next() is None
    chars = Outbox(max_frames=10, max_chars=5)
    assert chars.offer("abc")
    assert not chars.offer("def")
    assert chars.code == CloseCode.TOO_SLOW


async def test_a_closed_outbox_drains_before_it_ends() -> None:
    box = Outbox(max_frames=10, max_chars=100)
    box.offer("a")
    box.close(CloseCode.NOT_FOUND)
    assert not box.offer("b")
    assert [await box.next(), await box.next()] == ["a", None]
    assert box.code == 4404


def test_the_fanout_drops_refusing_outboxes_and_closes_a_conversation() -> None:
    fanout = LocalFanout()
    ok, full = Outbox(max_frames=10, max_chars=100), Outbox(max_frames=1, max_chars=100)
    fanout.subscribe(CONVERSATION, ok)
    fanout.subscribe(CONVERSATION, full)
    fanout.publish(CONVERSATION, "1")
    fanout.publish(CONVERSATION, "2")
    assert fanout.subscribers(CONVERSATION) == 1
    assert (len(ok), full.code) == (2, CloseCode.TOO_SLOW)
    fanout.close(CONVERSATION, CloseCode.NOT_FOUND)
    assert (ok.code, fanout.subscribers(CONVERSATION)) == (4404, 0)
    fanout.publish(CONVERSATION, "3")  # nobody left: nothing happens


def test_calls_without_stored_results_are_answered_in_what_the_model_gets() -> None:
    calls = [ToolCall(id="a", name="t", arguments={}), ToolCall(id="b", name="t", arguments={})]
    step = _message("assistant", calls=calls)
    partial = _message("tool", results=[_result("b")])
    sent = for_model([_message("user"), step, partial, _message("user"), step])
    assert [m.role for m in sent] == ["user", "assistant", "tool", "user", "assistant", "tool"]
    completed = sent[2].tool_results or []
    assert [(r.tool_call_id, r.is_error) for r in completed] == [("a", True), ("b", False)]
    assert [r.content for r in sent[5].tool_results or []] == [[TextBlock(text=NO_RESULT)]] * 2


@pytest.mark.parametrize(
    ("content", "title"),
    [("one\ntwo", "one"), ("  \n\t lead \n", "lead"), ("é" * 90, "é" * 80), (" \n ", None)],
)
def test_the_title_is_the_first_line_cut_at_80_characters(content: str, title: str | None) -> None:
    assert title_of(content) == title


def test_every_close_code_has_a_short_reason() -> None:
    for code in CloseCode:
        assert 0 < len(code.reason.encode()) <= 123, code  # what one close frame can carry
