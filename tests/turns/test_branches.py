"""Turns on a tree of messages: edit and resend, regenerate, the model's history being the
active branch, a model per conversation, usage from both providers, the daily token limit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from starlette.testclient import TestClient

from faceplate.app import create_app
from faceplate.settings import Settings
from tests.support.app import dev_settings
from tests.support.scripted_llm import ScriptedLLM
from tests.turns.helpers import connect, new_conversation, receive, stored, until, wait_turn

Headers = dict[str, str]


def _settings(
    database_url: str,
    data_dir: Path,
    llm: ScriptedLLM,
    kind: Literal["openai", "anthropic"] = "openai",
    **overrides: Any,
) -> Settings:
    return dev_settings(
        database_url,
        data_dir,
        llm=kind,
        llm_base_url=llm.base_url,
        llm_api_key="test-key",
        llm_model=llm.model,
        llm_models=(llm.model, f"{llm.model}-large"),
        **overrides,
    )


@pytest.fixture
def chat(database_url: str, tmp_path: Path, llm: ScriptedLLM) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(database_url, tmp_path / "data", llm))) as client:
        yield client


def _turn(client: TestClient, conversation: str, headers: Headers, frame: dict[str, Any]) -> None:
    with connect(client, conversation, headers) as ws:
        receive(ws)
        ws.send_json(frame)
        end = until(ws, "turn_end")[-1]
        assert end["status"] == "completed", end
    wait_turn(client, conversation)


def _ask(
    client: TestClient, conversation: str, headers: Headers, content: str, **extra: Any
) -> None:
    _turn(client, conversation, headers, {"type": "user_message", "content": content, **extra})


def _sent_user_texts(llm: ScriptedLLM) -> list[str]:
    return [m["content"] for m in llm.requests[-1].body["messages"] if m["role"] == "user"]


def _contents(client: TestClient, headers: Headers, conversation: str) -> list[str]:
    return [m["content"] for m in stored(client, headers, conversation)]


def test_edit_and_resend_starts_a_second_branch_the_model_sees_alone(
    chat: TestClient, alice: Headers, llm: ScriptedLLM
) -> None:
    conversation = new_conversation(chat, alice)
    for question, answer in (("hello", "Hi."), ("capital of France?", "Paris.")):
        llm.reply_text([answer])
        _ask(chat, conversation, alice, question)
    france = stored(chat, alice, conversation)[2]
    llm.reply_text(["Rome."])
    _ask(chat, conversation, alice, "capital of Italy?", parent_id=france["parent_id"])
    assert _sent_user_texts(llm) == ["hello", "capital of Italy?"]
    branch = stored(chat, alice, conversation)
    assert [m["content"] for m in branch] == ["hello", "Hi.", "capital of Italy?", "Rome."]
    assert branch[2]["sibling_ids"] == [france["id"], branch[2]["id"]]
    llm.reply_text(["Milan too."])
    _ask(chat, conversation, alice, "other cities?")
    assert _sent_user_texts(llm) == ["hello", "capital of Italy?", "other cities?"]


def test_editing_the_first_message_makes_a_new_root(
    chat: TestClient, alice: Headers, llm: ScriptedLLM
) -> None:
    conversation = new_conversation(chat, alice)
    llm.reply_text(["One."])
    _ask(chat, conversation, alice, "first try")
    first = stored(chat, alice, conversation)[0]
    llm.reply_text(["Two."])
    _ask(chat, conversation, alice, "second try", parent_id=None)
    assert _sent_user_texts(llm) == ["second try"]
    branch = stored(chat, alice, conversation)
    assert [m["content"] for m in branch] == ["second try", "Two."]
    assert branch[0]["parent_id"] is None
    assert branch[0]["sibling_ids"] == [first["id"], branch[0]["id"]]
    title = chat.get(f"/v1/conversations/{conversation}", headers=alice).json()["title"]
    assert title == "first try"


def test_regenerate_three_times_and_walk_the_siblings(
    chat: TestClient, alice: Headers, llm: ScriptedLLM
) -> None:
    conversation = new_conversation(chat, alice)
    llm.reply_text(["Seven."])
    _ask(chat, conversation, alice, "pick a number")
    for answer in ("Eleven.", "Three.", "Forty-two."):
        llm.reply_text([answer])
        _turn(chat, conversation, alice, {"type": "regenerate"})
        assert _sent_user_texts(llm) == ["pick a number"]
        assert llm.requests[-1].body["messages"][-1]["role"] == "user"
    question, answer = stored(chat, alice, conversation)
    assert answer["content"] == "Forty-two."
    assert len(answer["sibling_ids"]) == 4
    assert question["sibling_ids"] == [question["id"]]
    seen = []
    for sibling in answer["sibling_ids"]:
        response = chat.put(
            f"/v1/conversations/{conversation}/active", json={"message_id": sibling}, headers=alice
        )
        assert response.json()["active_message_id"] == sibling
        seen.append(_contents(chat, alice, conversation)[-1])
    assert seen == ["Seven.", "Eleven.", "Three.", "Forty-two."]


def test_regenerate_names_an_older_answer(
    chat: TestClient, alice: Headers, llm: ScriptedLLM
) -> None:
    conversation = new_conversation(chat, alice)
    for question, answer in (("a?", "A."), ("b?", "B.")):
        llm.reply_text([answer])
        _ask(chat, conversation, alice, question)
    first_answer = stored(chat, alice, conversation)[1]
    llm.reply_text(["A again."])
    _turn(chat, conversation, alice, {"type": "regenerate", "message_id": first_answer["id"]})
    assert _sent_user_texts(llm) == ["a?"]
    assert _contents(chat, alice, conversation) == ["a?", "A again."]


def test_switching_branches_changes_what_the_model_is_sent_next(
    chat: TestClient, alice: Headers, llm: ScriptedLLM
) -> None:
    conversation = new_conversation(chat, alice)
    llm.reply_text(["Hi."])
    _ask(chat, conversation, alice, "hello")
    hi = stored(chat, alice, conversation)[1]
    llm.reply_text(["Red."])
    _ask(chat, conversation, alice, "favourite colour?")
    llm.reply_text(["Blue."])
    _ask(chat, conversation, alice, "favourite sky?", parent_id=hi["id"])
    colour = stored(chat, alice, conversation)[2]
    assert colour["content"] == "favourite sky?"
    old = colour["sibling_ids"][0]
    chat.put(f"/v1/conversations/{conversation}/active", json={"message_id": old}, headers=alice)
    llm.reply_text(["Green, then."])
    _ask(chat, conversation, alice, "and second favourite?")
    assert _sent_user_texts(llm) == ["hello", "favourite colour?", "and second favourite?"]


def test_bad_branch_frames_are_refused_and_nothing_is_stored(
    chat: TestClient, alice: Headers, bob: Headers, llm: ScriptedLLM
) -> None:
    conversation, elsewhere = new_conversation(chat, alice), new_conversation(chat, bob)
    llm.reply_text(["Theirs."])
    _ask(chat, elsewhere, bob, "bob's question")
    theirs = stored(chat, bob, elsewhere)[0]["id"]
    with connect(chat, conversation, alice) as ws:
        receive(ws)
        for frame in (
            {"type": "regenerate"},
            {"type": "regenerate", "message_id": theirs},
            {"type": "user_message", "content": "x", "parent_id": theirs},
            {"type": "user_message", "content": "x", "parent_id": "not-a-uuid"},
            {"type": "regenerate", "extra": 1},
        ):
            ws.send_json(frame)
            error = receive(ws)
            assert (error["type"], error["code"]) == ("error", "invalid_frame"), frame
    assert stored(chat, alice, conversation) == []


def test_switching_branches_while_a_turn_runs_is_a_conflict(
    chat: TestClient, alice: Headers, llm: ScriptedLLM
) -> None:
    conversation = new_conversation(chat, alice)
    llm.reply_text(["Hi."])
    _ask(chat, conversation, alice, "hello")
    hello = stored(chat, alice, conversation)[0]["id"]
    llm.reply_text(["slow ", "answer"], delay_s=0.5)
    with connect(chat, conversation, alice) as ws:
        receive(ws)
        ws.send_json({"type": "user_message", "content": "again"})
        until(ws, "turn_start")
        response = chat.put(
            f"/v1/conversations/{conversation}/active", json={"message_id": hello}, headers=alice
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "conflict"
        ws.send_json({"type": "regenerate"})
        assert receive(ws)["code"] == "turn_in_progress"
        until(ws, "turn_end")


def test_the_conversation_model_is_used_and_recorded_with_usage(
    chat: TestClient, alice: Headers, llm: ScriptedLLM
) -> None:
    large = f"{llm.model}-large"
    response = chat.post("/v1/conversations", json={"model": large}, headers=alice)
    conversation = response.json()["id"]
    llm.reply_text(["Big answer."], usage=(120, 30))
    _ask(chat, conversation, alice, "which model?")
    assert llm.requests[-1].body["model"] == large
    answer = stored(chat, alice, conversation)[1]
    assert (answer["model"], answer["usage"]) == (large, {"input_tokens": 120, "output_tokens": 30})
    chat.patch(f"/v1/conversations/{conversation}", json={"model": None}, headers=alice)
    llm.reply_text(["Small answer."])
    _ask(chat, conversation, alice, "and now?")
    assert llm.requests[-1].body["model"] == llm.model
    answer = stored(chat, alice, conversation)[3]
    assert (answer["model"], answer["usage"]) == (llm.model, None)
    days = chat.get("/v1/me/usage", headers=alice).json()["days"]
    assert [(d["model"], d["input_tokens"], d["output_tokens"]) for d in days] == [(large, 120, 30)]


def test_anthropic_usage_is_recorded(
    database_url: str, tmp_path: Path, alice: Headers, llm: ScriptedLLM
) -> None:
    settings = _settings(database_url, tmp_path / "data", llm, "anthropic")
    with TestClient(create_app(settings)) as client:
        conversation = new_conversation(client, alice)
        llm.reply_text(["Bonjour."], usage=(40, 7))
        _ask(client, conversation, alice, "hello in French")
        assert stored(client, alice, conversation)[1]["usage"] == {
            "input_tokens": 40,
            "output_tokens": 7,
        }
        report = client.get("/v1/me/usage", headers=alice).json()
    assert report["used_today"] == 47


def test_the_daily_token_limit_holds_across_instances(
    database_url: str, tmp_path: Path, alice: Headers, llm: ScriptedLLM
) -> None:
    settings = _settings(database_url, tmp_path / "data", llm, limit_tokens_per_day=100)
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        conversation = new_conversation(one, alice)
        llm.reply_text(["Long."], usage=(90, 20))
        _ask(one, conversation, alice, "spend it all")
        for client in (one, two):
            with connect(client, conversation, alice) as ws:
                receive(ws)
                for frame in (
                    {"type": "user_message", "content": "one more"},
                    {"type": "regenerate"},
                ):
                    ws.send_json(frame)
                    error = receive(ws)
                    assert error["code"] == "rate_limited", error
                    assert 1 <= error["retry_after_s"] <= 86_400
        report = two.get("/v1/me/usage", headers=alice).json()
        assert (report["limit_per_day"], report["used_today"]) == (100, 110)
        assert len(stored(two, alice, conversation)) == 2
