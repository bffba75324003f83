"""Many tenants, end to end: the names the model calls tools by (shown by GET …/tools), what a
call of a down or unusable server's tool answers, and a large result cut and stored cut."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from starlette.testclient import TestClient

from tests.integration.helpers import (
    AppFactory,
    Headers,
    create_config,
    http_config,
    messages,
    new_conversation,
    offered,
    results,
    run_turn,
    text,
)
from tests.mcp_client.servers import free_port
from tests.support.flood_mcp import flood_servers
from tests.support.scripted_llm import ScriptedCall, ScriptedLLM


@pytest.fixture(scope="module")
def flood_url() -> Iterator[str]:
    with flood_servers() as (http, _):
        yield http


def _tools(app: TestClient, headers: Headers, config_id: str) -> list[dict[str, Any]]:
    response = app.get(f"/v1/mcp-configs/{config_id}/tools", headers=headers)
    assert response.status_code == 200, response.text
    tools: list[dict[str, Any]] = response.json()["tools"]
    return tools


def test_live_tools_show_the_name_the_model_calls_each_by(
    app: TestClient, alice: Headers, mcp_http_url: str, test_id: str
) -> None:
    first = create_config(app, alice, "Calc Server", http_config(mcp_http_url, test_id))
    second = create_config(app, alice, "calc-server!", http_config(mcp_http_url, test_id))

    names = {t["name"]: t["model_name"] for t in _tools(app, alice, first["id"])}
    later = {t["name"]: t["model_name"] for t in _tools(app, alice, second["id"])}

    assert names["add"] == "calc-server__add"
    assert later["add"] == "calc-server_2__add"  # the later config's slug, not the tool's name
    app.patch(f"/v1/mcp-configs/{second['id']}", json={"enabled": False}, headers=alice)
    assert {t["model_name"] for t in _tools(app, alice, second["id"])} == {None}


def test_a_call_of_a_down_server_s_tool_says_it_is_unavailable_and_why(
    app: TestClient, alice: Headers, llm: ScriptedLLM
) -> None:
    create_config(
        app,
        alice,
        "Down",
        {"transport": "streamable_http", "url": f"http://127.0.0.1:{free_port()}/mcp"},
    )
    llm.reply_tool_calls([ScriptedCall(name="down__add", arguments={"a": 1, "b": 2})])
    llm.reply_text(["Sorry."])

    frames = run_turn(app, alice, new_conversation(app, alice), "add")

    (result,) = results(frames)
    assert result["is_error"] is True
    assert text(result).startswith("the MCP server of config 'Down' is unavailable: ")
    assert "could not reach the MCP server" in text(result)


def test_a_config_whose_secret_no_key_decrypts_is_left_out_of_turns_with_why(
    make_app: AppFactory, alice: Headers, llm: ScriptedLLM, mcp_http_url: str, test_id: str
) -> None:
    create_config(make_app(), alice, "Calc", http_config(mcp_http_url, test_id))
    other_key = make_app(secret_key=Fernet.generate_key().decode())
    llm.reply_tool_calls([ScriptedCall(name="calc__add", arguments={"a": 1, "b": 2})])
    llm.reply_text(["Sorry."])

    frames = run_turn(other_key, alice, new_conversation(other_key, alice), "add")

    assert "calc__add" not in offered(llm.requests[0])
    (result,) = results(frames)
    assert text(result).startswith("the MCP server of config 'Calc' is unavailable: ")
    assert "config.headers.X-Test cannot be decrypted" in text(result)
    assert frames[-1]["status"] == "completed"


def test_a_result_over_the_limit_is_cut_stored_cut_and_sent_cut(
    make_app: AppFactory, alice: Headers, llm: ScriptedLLM, flood_url: str
) -> None:
    app = make_app(llm_context_tokens=1_000_000)  # room for the whole cut result
    create_config(app, alice, "Flood", {"transport": "streamable_http", "url": flood_url})
    llm.reply_tool_calls([ScriptedCall(name="flood__big", arguments={"bytes": 3_000_000})])
    llm.reply_text(["Long."])
    conversation = new_conversation(app, alice)

    frames = run_turn(app, alice, conversation, "go")

    (result,) = results(frames)
    body, _, note = text(result).rpartition("\n")
    assert note == f"[truncated: {3_000_000 - len(body)} bytes]"
    assert 1_048_000 < len(body) + len(note) + 1 <= 1_048_576
    stored = messages(app, alice, conversation)[2]["tool_results"][0]
    assert stored == result
    sent = llm.requests[1].body["messages"][-1]["content"]
    assert sent == text(result)


def test_a_result_larger_than_the_model_s_context_is_cut_further_in_what_is_sent(
    app: TestClient, alice: Headers, llm: ScriptedLLM, flood_url: str
) -> None:
    create_config(app, alice, "Flood", {"transport": "streamable_http", "url": flood_url})
    llm.reply_tool_calls([ScriptedCall(name="flood__big", arguments={"bytes": 3_000_000})])
    llm.reply_text(["Long."])

    frames = run_turn(app, alice, new_conversation(app, alice), "go")

    assert frames[-1]["status"] == "completed"
    sent = llm.requests[1].body["messages"][-1]["content"]
    assert "\n[cut to fit the model's context: " in sent
    assert len(sent) < 128_000 * 3  # within FACEPLATE_LLM_CONTEXT_TOKENS by the estimate
