"""The history within the model's context (CONTRACT §10): trimmed from the oldest, keeping the
newest user message and every tool call with its result; `max_tokens` sent; a model's
"context too long" ends the turn failed, saying so."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from uuid import UUID, uuid4

import psycopg
import pytest
from starlette.testclient import TestClient

from faceplate.agents.base import ToolSpec
from faceplate.app import create_app
from faceplate.structs import Message, Role, TextBlock, ToolCall, ToolResult
from faceplate.turns.history import message_tokens, within_context
from tests.support.app import dev_settings
from tests.support.scripted_llm import ScriptedLLM
from tests.turns.helpers import connect, new_conversation, receive, until

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _message(n: int, role: Role, content: str = "", **fields: Any) -> Message:
    return Message(
        id=UUID(int=n + 1),
        conversation_id=UUID(int=0),
        role=role,
        content=content,
        tool_calls=fields.get("tool_calls"),
        tool_results=fields.get("tool_results"),
        finish_reason="stop" if role == "assistant" else None,
        created_at=T0 + timedelta(seconds=n),
    )


def _step(n: int, text: str) -> list[Message]:
    """An assistant message asking for a tool, and its result."""
    call = ToolCall(id=f"c{n}", name="t", arguments={})
    result = ToolResult(
        tool_call_id=f"c{n}",
        name="t",
        is_error=False,
        content=[TextBlock(text=text)],
        duration_ms=1,
    )
    return [
        _message(n, "assistant", tool_calls=[call]),
        _message(n + 1, "tool", tool_results=[result]),
    ]


def _fits(sent: list[Message], budget: int) -> bool:
    return sum(message_tokens(m) for m in sent) <= budget


def test_a_history_that_fits_is_sent_whole() -> None:
    history = [
        _message(0, "user", "hi"),
        _message(1, "assistant", "hello"),
        _message(2, "user", "?"),
    ]

    assert (
        within_context(history, system="s", tools=[], context_tokens=1000, max_output_tokens=100)
        == history
    )


def test_the_oldest_exchanges_go_first_and_what_is_sent_starts_with_a_user_message() -> None:
    history: list[Message] = []
    for n in range(0, 60, 3):
        history += [_message(n, "user", "q" * 300), _message(n + 1, "assistant", "a" * 300)]
    history.append(_message(100, "user", "the newest"))

    sent = within_context(history, system="", tools=[], context_tokens=1200, max_output_tokens=200)

    assert sent[-1].content == "the newest"
    assert sent[0].role == "user"
    assert sent == history[len(history) - len(sent) :]  # a tail, nothing reordered
    assert _fits(sent, 1000)
    assert len(sent) > 3


def test_a_tool_call_never_loses_its_result() -> None:
    history = [_message(0, "user", "go")]
    for n in range(1, 200, 2):
        history += _step(n, "r" * 200)
    history.append(_message(500, "user", "and now?"))
    history += _step(501, "latest")

    sent = within_context(history, system="", tools=[], context_tokens=800, max_output_tokens=100)

    for index, message in enumerate(sent):
        if message.tool_calls:
            assert sent[index + 1].role == "tool"
            assert sent[index + 1].tool_results[0].tool_call_id == message.tool_calls[0].id  # type: ignore[index]
        if message.role == "tool":
            assert sent[index - 1].tool_calls
    assert [m.content for m in sent if m.role == "user"] == ["and now?"]
    assert sent[-1].tool_results[0].content == [TextBlock(text="latest")]  # type: ignore[index]


def test_the_system_prompt_and_the_tools_count_against_the_context() -> None:
    history = [_message(n, "user" if n % 2 == 0 else "assistant", "x" * 300) for n in range(40)]
    tools = [ToolSpec(name=f"t{n}", description="d" * 300, input_schema={}) for n in range(5)]

    bare = within_context(history, system="", tools=[], context_tokens=2000, max_output_tokens=100)
    loaded = within_context(
        history, system="s" * 1500, tools=tools, context_tokens=2000, max_output_tokens=100
    )

    assert len(loaded) < len(bare)


def test_a_latest_result_larger_than_the_context_is_cut_in_what_is_sent() -> None:
    history = [_message(0, "user", "read it"), *_step(1, "z" * 30_000)]

    sent = within_context(history, system="", tools=[], context_tokens=2000, max_output_tokens=500)

    (result,) = sent[-1].tool_results or []
    (block,) = result.content
    assert isinstance(block, TextBlock)
    assert block.text.startswith("z" * 1000)
    assert block.text.endswith(" bytes left out]")
    assert _fits(sent, 1500 + 20)  # the note itself is a few tokens
    assert history[2].tool_results[0].content == [TextBlock(text="z" * 30_000)]  # type: ignore[index]


# --- end to end --------------------------------------------------------------------------------


@pytest.fixture
def small_context(database_url: str, tmp_path: Path, llm: ScriptedLLM) -> Iterator[TestClient]:
    settings = dev_settings(
        database_url,
        tmp_path / "data",
        llm="openai",
        llm_base_url=llm.base_url,
        llm_api_key="test-key",
        llm_model=llm.model,
        llm_context_tokens=4000,
        llm_max_output_tokens=500,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _seed(database_url: str, conversation_id: str, count: int) -> None:
    """`count` messages, user and assistant in turn, every tenth step asking for a tool."""
    rows: list[tuple[Any, ...]] = []
    start = datetime.now(UTC) - timedelta(hours=1)
    for n in range(count):
        at = start + timedelta(milliseconds=n)
        if n % 20 == 11:
            call = f'[{{"id": "c{n}", "name": "t", "arguments": {{}}}}]'
            rows.append((uuid4(), "assistant", "", call, None, "tool_calls", at))
        elif n % 20 == 12:
            result = (
                f'[{{"tool_call_id": "c{n - 1}", "name": "t", "is_error": false, '
                f'"content": [{{"type": "text", "text": "result {n}"}}], "duration_ms": 1}}]'
            )
            rows.append((uuid4(), "tool", "", None, result, None, at))
        else:
            role = "user" if n % 2 == 0 else "assistant"
            rows.append(
                (
                    uuid4(),
                    role,
                    f"message {n} " + "lorem ipsum " * 10,
                    None,
                    None,
                    "stop" if role == "assistant" else None,
                    at,
                )
            )
    # One chain, each message under the one before, the last the active leaf.
    with psycopg.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO faceplate.messages (id, conversation_id, parent_id, depth, role, content,"
            " tool_calls, tool_results, finish_reason, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s)",
            [
                (r[0], UUID(conversation_id), rows[n - 1][0] if n else None, n, *r[1:])
                for n, r in enumerate(rows)
            ],
        )
        cursor.execute(
            "UPDATE faceplate.conversations SET active_message_id = %s WHERE id = %s",
            (rows[-1][0], UUID(conversation_id)),
        )


def _tokens(text: str) -> int:
    return math.ceil(len(text.encode()) / 3)


def _request_tokens(body: dict[str, Any]) -> int:
    """The request's estimate by the service's own measure (OpenAI's shape)."""
    total = 0
    for message in body["messages"]:
        total += 4 + _tokens(message.get("content") or "")
        for call in message.get("tool_calls") or ():
            total += 4 + _tokens(call["function"]["name"]) + _tokens(call["function"]["arguments"])
    return total


def test_a_10000_message_conversation_is_still_answered_within_the_context(
    small_context: TestClient, alice: dict[str, str], llm: ScriptedLLM, database_url: str
) -> None:
    conversation = new_conversation(small_context, alice)
    _seed(database_url, conversation, 10_000)
    llm.reply_text(["Still ", "here."])

    with connect(small_context, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "are you there?"})
        frames = until(ws, "turn_end")

    assert frames[-1]["status"] == "completed"
    (request,) = llm.requests
    body = request.body
    sent = body["messages"]
    assert body["max_tokens"] == 500
    assert sent[0]["role"] == "system" and sent[1]["role"] == "user"
    assert sent[-1] == {"role": "user", "content": "are you there?"}
    assert 10 < len(sent) < 200
    assert _request_tokens(body) <= 4000 - 500
    for index, message in enumerate(sent):
        if message.get("tool_calls"):
            assert sent[index + 1]["tool_call_id"] == message["tool_calls"][0]["id"]


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_max_tokens_is_sent_to_the_model(
    database_url: str, tmp_path: Path, llm: ScriptedLLM, alice: dict[str, str], kind: str
) -> None:
    provider: Literal["openai", "anthropic"] = "anthropic" if kind == "anthropic" else "openai"
    settings = dev_settings(
        database_url,
        tmp_path / "data",
        llm=provider,
        llm_base_url=llm.base_url,
        llm_api_key="test-key",
        llm_model=llm.model,
        llm_max_output_tokens=1234,
    )
    llm.reply_text(["ok"])
    with TestClient(create_app(settings)) as client:
        conversation = new_conversation(client, alice)
        with connect(client, conversation, alice) as ws:
            receive(ws)
            ws.send_json({"type": "user_message", "content": "hi"})
            until(ws, "turn_end")

    assert llm.requests[0].body["max_tokens"] == 1234


@pytest.mark.parametrize(
    "message",
    [
        "This model's maximum context length is 4096 tokens. However, you requested 9000 tokens.",
        "prompt is too long: 210000 tokens > 200000 maximum",
    ],
)
def test_a_context_too_long_answer_ends_the_turn_failed_saying_so(
    small_context: TestClient, alice: dict[str, str], llm: ScriptedLLM, message: str
) -> None:
    llm.reply_error(400, message)
    conversation = new_conversation(small_context, alice)

    with connect(small_context, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "hi"})
        end = until(ws, "turn_end")[-1]

    assert end["status"] == "failed"
    assert end["error"]["code"] == "context_too_long"
    assert end["error"]["message"].startswith(
        "the conversation is too long for the model's context window"
    )
    assert message in end["error"]["message"]
