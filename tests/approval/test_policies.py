"""Tool approval settings over REST: tool_approval and tool_policies on the config object, the
setting's default, 422s, the tools listing's annotations and effective policy, denied tools
left out of what the model is offered."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.integration.helpers import (
    AppFactory,
    Headers,
    create_config,
    offered,
    one_turn,
    patch_config,
)
from tests.routes.helpers import assert_error
from tests.support.scripted_llm import ScriptedCall, ScriptedLLM
from tests.turns.helpers import state_of

NAME = "Notes"
SLUG = "notes"


def _http(url: str) -> dict[str, Any]:
    return {"transport": "streamable_http", "url": url}


def _tools(client: TestClient, headers: Headers, config_id: str) -> dict[str, dict[str, Any]]:
    response = client.get(f"/v1/mcp-configs/{config_id}/tools", headers=headers)
    assert response.status_code == 200, response.text
    return {tool["name"]: tool for tool in response.json()["tools"]}


def test_a_new_config_asks_never_and_has_no_policies(
    app: TestClient, alice: Headers, approval_url: str
) -> None:
    created = create_config(app, alice, NAME, _http(approval_url))
    assert (created["tool_approval"], created["tool_policies"]) == ("never", {})
    got = app.get(f"/v1/mcp-configs/{created['id']}", headers=alice).json()
    assert (got["tool_approval"], got["tool_policies"]) == ("never", {})


def test_the_default_comes_from_the_setting(
    make_app: AppFactory, alice: Headers, approval_url: str
) -> None:
    client = make_app(tool_approval_default="writes")
    created = create_config(client, alice, NAME, _http(approval_url))
    assert created["tool_approval"] == "writes"
    body = {"name": "other", "config": _http(approval_url), "tool_approval": "never"}
    response = client.post("/v1/mcp-configs", json=body, headers=alice)
    assert response.status_code == 201, response.text
    assert response.json()["tool_approval"] == "never"


def test_policies_are_set_at_creation_and_replaced_by_a_patch(
    app: TestClient, alice: Headers, approval_url: str
) -> None:
    body = {
        "name": NAME,
        "config": _http(approval_url),
        "tool_approval": "always",
        "tool_policies": {"read_note": "allow", "delete_note": "deny"},
    }
    response = app.post("/v1/mcp-configs", json=body, headers=alice)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["tool_approval"] == "always"
    assert created["tool_policies"] == {"read_note": "allow", "delete_note": "deny"}

    patched = patch_config(app, alice, created["id"], {"tool_policies": {"write_note": "ask"}})
    assert patched["tool_policies"] == {"write_note": "ask"}
    assert patched["tool_approval"] == "always"
    patched = patch_config(app, alice, created["id"], {"tool_approval": "writes"})
    assert (patched["tool_approval"], patched["tool_policies"]) == ("writes", {"write_note": "ask"})
    listed = app.get("/v1/mcp-configs", headers=alice).json()["items"]
    assert listed[0]["tool_policies"] == {"write_note": "ask"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tool_approval": "sometimes"}, "tool_approval"),
        ({"tool_approval": None}, "tool_approval"),
        ({"tool_policies": {"delete_note": "maybe"}}, "tool_policies"),
        ({"tool_policies": {"": "deny"}}, "tool_policies"),
        ({"tool_policies": {"x" * 257: "deny"}}, "tool_policies"),
        ({"tool_policies": ["delete_note"]}, "tool_policies"),
        ({"tool_policies": {f"t{i}": "deny" for i in range(1025)}}, "tool_policies"),
    ],
    ids=["approval", "null approval", "policy", "empty name", "long name", "list", "too many"],
)
def test_a_bad_policy_is_a_422_naming_the_field(
    app: TestClient, alice: Headers, approval_url: str, body: dict[str, Any], field: str
) -> None:
    response = app.post(
        "/v1/mcp-configs", json={"name": NAME, "config": _http(approval_url), **body}, headers=alice
    )
    assert field in assert_error(response, 422, "validation_error")
    created = create_config(app, alice, NAME, _http(approval_url))
    response = app.patch(f"/v1/mcp-configs/{created['id']}", json=body, headers=alice)
    assert field in assert_error(response, 422, "validation_error")
    got = app.get(f"/v1/mcp-configs/{created['id']}", headers=alice).json()
    assert (got["tool_approval"], got["tool_policies"]) == ("never", {})


def test_the_tools_show_annotations_and_the_policy_in_effect(
    app: TestClient, alice: Headers, approval_url: str
) -> None:
    created = create_config(app, alice, NAME, _http(approval_url))
    tools = _tools(app, alice, created["id"])
    assert tools["read_note"]["annotations"] == {"readOnlyHint": True}
    assert tools["delete_note"]["annotations"] == {"destructiveHint": True}
    assert tools["write_note"]["annotations"] is None
    assert {t["policy"] for t in tools.values()} == {"allow"}  # never asks

    patch_config(app, alice, created["id"], {"tool_approval": "writes"})
    tools = _tools(app, alice, created["id"])
    assert tools["read_note"]["policy"] == "allow"
    assert tools["delete_note"]["policy"] == "ask"
    assert tools["write_note"]["policy"] == "ask"  # no annotations: not known to be read-only
    assert tools["wipe_everything"]["policy"] == "allow"  # the hint is believed…

    policies = {"wipe_everything": "deny", "read_note": "ask", "delete_note": "allow"}
    patch_config(app, alice, created["id"], {"tool_policies": policies})
    tools = _tools(app, alice, created["id"])
    assert tools["wipe_everything"]["policy"] == "deny"  # …unless the user says otherwise
    assert tools["wipe_everything"]["model_name"] is None  # never offered
    assert tools["read_note"]["policy"] == "ask"
    assert tools["read_note"]["model_name"] == f"{SLUG}__read_note"
    assert tools["delete_note"]["policy"] == "allow"

    patch_config(app, alice, created["id"], {"tool_approval": "always", "tool_policies": {}})
    assert {t["policy"] for t in _tools(app, alice, created["id"]).values()} == {"ask"}


def test_a_denied_tool_is_not_offered_to_the_model(
    app: TestClient, alice: Headers, approval_url: str, llm: ScriptedLLM
) -> None:
    created = create_config(app, alice, NAME, _http(approval_url))
    patch_config(app, alice, created["id"], {"tool_policies": {"delete_note": "deny"}})
    llm.reply_text(["Fine."])
    one_turn(app, alice, "hello")
    names = offered(llm.requests[-1])
    assert f"{SLUG}__read_note" in names
    assert f"{SLUG}__delete_note" not in names


def test_a_model_calling_a_denied_tool_anyway_is_told_it_is_unknown(
    app: TestClient, alice: Headers, approval_url: str, llm: ScriptedLLM
) -> None:
    created = create_config(app, alice, NAME, _http(approval_url))
    patch_config(app, alice, created["id"], {"tool_policies": {"delete_note": "deny"}})
    llm.reply_tool_calls([ScriptedCall(name=f"{SLUG}__delete_note", arguments={"name": "x"})])
    llm.reply_text(["Could not."])
    frames = one_turn(app, alice, "delete x")
    (result,) = [f["tool_result"] for f in frames if f["type"] == "tool_result"]
    assert result["is_error"] is True
    assert "unknown tool" in result["content"][0]["text"]
    assert not [f for f in frames if f["type"] == "approval_request"]


def test_a_policy_change_keeps_the_connection(
    app: TestClient, alice: Headers, approval_url: str
) -> None:
    created = create_config(app, alice, NAME, _http(approval_url))
    _tools(app, alice, created["id"])
    sessions = state_of(app).mcp_configs._sessions
    before = list(sessions._connections.values())
    assert before
    patch_config(app, alice, created["id"], {"tool_approval": "always"})
    assert list(sessions._connections.values()) == before
    patch_config(app, alice, created["id"], {"enabled": False})
    assert list(sessions._connections.values()) != before
