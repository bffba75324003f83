"""MCP servers from the page: add one, list its tools, and see a turn call them."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.support import Ui
from tests.support.scripted_llm import ScriptedCall

NAME = "Notes"
SLUG = "notes"


def add_server(ui: Ui, name: str = NAME) -> None:
    """Add the test MCP server through the servers page's form."""
    ui.open("#/servers")
    ui.page.get_by_role("button", name="Add server").click()
    form = ui.page.get_by_role("form", name="Add server")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("URL").fill(ui.served.mcp_url)
    form.get_by_role("button", name="Add header").click()
    form.get_by_label("Headers name").fill("X-Test")
    form.get_by_label("Headers value").fill("browser")
    form.get_by_role("button", name="Add", exact=True).click()
    expect(ui.page.locator(f".server[data-name='{name}']")).to_be_visible()


def config_of(ui: Ui, name: str = NAME) -> dict[str, Any]:
    with ui.api() as http:
        items: list[dict[str, Any]] = http.get("/v1/mcp-configs").json()["items"]
    return next(c for c in items if c["name"] == name)


def test_a_server_added_on_the_page_lists_its_tools_and_keeps_its_secret(ui: Ui) -> None:
    add_server(ui)
    card = ui.page.locator(f".server[data-name='{NAME}']")
    expect(card.locator(".where")).to_have_text(ui.served.mcp_url)

    card.get_by_role("button", name="Tools").click()
    rows = card.locator("table.tools tbody tr")
    expect(rows.locator("td").first).to_have_text("add")
    expect(card.locator("tr[data-tool=ask_colour]")).to_contain_text("Ask the person")
    config = config_of(ui)
    with ui.api() as http:
        listed = http.get(f"/v1/mcp-configs/{config['id']}/tools").json()["tools"]
    # What the listing adds since (the model's name, annotations) shows when it is there.
    if "model_name" in listed[0]:
        expect(card.locator("tr[data-tool=add]")).to_contain_text(f"{SLUG}__add")
    if "annotations" in listed[0]:
        expect(card.locator("tr[data-tool=read_note]")).to_contain_text("readOnly")

    assert config["config"]["headers"] == {"X-Test": "********"}
    card.get_by_role("checkbox", name="Enabled").uncheck()
    expect(card).to_have_count(1)
    ui.page.wait_for_function(
        '() => !document.querySelector(".server input[aria-label=Enabled]").checked'
    )
    assert config_of(ui)["enabled"] is False


def test_editing_a_server_keeps_its_stored_secret(ui: Ui) -> None:
    add_server(ui)
    card = ui.page.locator(f".server[data-name='{NAME}']")
    card.get_by_role("button", name="Edit").click()
    form = ui.page.get_by_role("form", name="Edit server")
    expect(form.get_by_label("Headers value")).to_have_value("********")
    form.get_by_label("Name", exact=True).fill("Notes two")
    form.get_by_role("button", name="Save").click()
    expect(ui.page.locator(".server[data-name='Notes two']")).to_be_visible()
    config = config_of(ui, "Notes two")
    assert config["config"]["headers"] == {"X-Test": "********"}

    renamed = ui.page.locator(".server[data-name='Notes two']")
    renamed.get_by_role("button", name="Delete").click()  # the confirm dialog is accepted
    expect(renamed).to_have_count(0)
    expect(ui.page.locator(".server-list .empty")).to_be_visible()


def test_a_tool_call_and_its_result_are_folded_under_the_step(ui: Ui) -> None:
    add_server(ui)
    llm = ui.served.llm
    llm.reply_tool_calls(
        [
            ScriptedCall(name=f"{SLUG}__add", arguments={"a": 2, "b": 3}),
            ScriptedCall(
                name=f"{SLUG}__echo",
                arguments={"text": '<img src=x onerror="window.__pwned = 5"><b>bold?</b>'},
            ),
        ],
        text=["Let me add."],
    )
    llm.reply_text(["It is ", "**5**."])
    ui.page.get_by_role("link", name="New chat", exact=True).click()
    ui.send("what is 2 + 3?")

    step = ui.page.locator(".msg.assistant[data-finish=tool_calls]")
    add = step.locator(".tool-call").filter(has_text=f"{SLUG}__add")
    expect(add.locator(".tool-status")).to_contain_text("done")
    add.locator("summary").click()
    expect(add.locator(".tool-args")).to_contain_text('"a": 2')
    expect(add.locator(".result .tool-text")).to_have_text("5")
    echo = step.locator(".tool-call").filter(has_text=f"{SLUG}__echo")
    echo.locator("summary").click()
    expect(echo.locator(".result .tool-text")).to_have_text(
        '<img src=x onerror="window.__pwned = 5"><b>bold?</b>'
    )
    final = ui.page.locator(".msg.assistant[data-finish=stop]")
    expect(final.locator("strong")).to_have_text("5")
    assert ui.page.locator(".thread img, .thread b").count() == 0
    assert ui.page.evaluate("window.__pwned") is None
    # The request that followed the tools carried their results to the model.
    assert llm.requests[-1].body["messages"][-1]["role"] == "tool"


def _approval_supported(ui: Ui) -> None:
    if "tool_approval" not in config_of(ui):
        pytest.skip("needs issue 14 (tool approval): configs have no tool_approval yet")


def test_a_call_waits_for_approval_and_runs_once_allowed(ui: Ui) -> None:
    add_server(ui)
    _approval_supported(ui)
    config = config_of(ui)
    with ui.api() as http:
        http.patch(f"/v1/mcp-configs/{config['id']}", json={"tool_approval": "writes"})
    llm = ui.served.llm
    llm.reply_tool_calls([ScriptedCall(name=f"{SLUG}__delete_note", arguments={"name": "x"})])
    llm.reply_text(["Deleted."])
    llm.reply_tool_calls([ScriptedCall(name=f"{SLUG}__delete_note", arguments={"name": "y"})])
    llm.reply_text(["Not deleted."])
    ui.page.get_by_role("link", name="New chat", exact=True).click()
    ui.send("delete note x")

    card = ui.page.get_by_role("group", name="approval")
    expect(card).to_contain_text("delete_note")
    expect(card).to_contain_text("may change or delete data")
    card.get_by_role("button", name="Allow").click()
    expect(ui.page.locator(".tool-call.ok")).to_contain_text("done")
    expect(ui.page.locator(".tool-decision")).to_have_text("Allowed by you.")
    expect(ui.page.locator(".msg.assistant[data-finish=stop]")).to_contain_text("Deleted.")

    ui.send("delete note y")
    card = ui.page.get_by_role("group", name="approval")
    card.get_by_label("remember for this tool").check()
    card.get_by_role("button", name="Deny").click()
    expect(ui.page.locator(".msg.assistant[data-finish=stop]").last).to_contain_text("Not deleted.")
    assert config_of(ui)["tool_policies"] == {"delete_note": "deny"}


def test_a_server_question_is_a_form_whose_answer_reaches_the_tool(ui: Ui) -> None:
    add_server(ui)
    _approval_supported(ui)  # elicitation comes with approval
    llm = ui.served.llm
    llm.reply_tool_calls([ScriptedCall(name=f"{SLUG}__ask_colour", arguments={})])
    llm.reply_text(["Noted."])
    ui.page.get_by_role("link", name="New chat", exact=True).click()
    ui.send("ask me")

    form = ui.page.locator(".elicitation")
    expect(form).to_contain_text("Which colour do you like best?")
    form.get_by_label("Your favourite colour").fill("teal")
    form.get_by_label("Quite sure?").check()
    form.get_by_role("button", name="Send").click()
    result = ui.page.locator(".tool-call").filter(has_text="ask_colour")
    result.locator("summary").click()
    expect(result.locator(".result .tool-text")).to_have_text("colour teal, sure: True")
    expect(form).to_have_count(0)


def test_connect_authorizes_a_server_that_needs_oauth(ui: Ui) -> None:
    reason = "needs issue 13 (OAuth for MCP servers) and its test servers"
    oauth_server = pytest.importorskip("tests.support.oauth_server", reason=reason)
    protected_mcp = pytest.importorskip("tests.support.protected_mcp", reason=reason)
    with (
        oauth_server.AuthorizationServer() as auth,
        protected_mcp.ProtectedMcpServer(auth) as protected,
    ):
        ui.open("#/servers")
        ui.page.get_by_role("button", name="Add server").click()
        form = ui.page.get_by_role("form", name="Add server")
        form.get_by_label("Name", exact=True).fill("Vault")
        form.get_by_label("URL").fill(protected.url)
        form.get_by_role("button", name="Add", exact=True).click()
        expect(ui.page.locator(".server[data-name='Vault']")).to_be_visible()
        if "oauth" not in config_of(ui, "Vault"):
            pytest.skip(f"{reason}: configs have no oauth yet")

        ui.served.llm.reply_text(["Its tools are not there yet."])
        ui.page.get_by_role("link", name="New chat", exact=True).click()
        ui.send("use the vault")
        card = ui.page.locator(".prompt.connect")
        expect(card).to_contain_text("Vault")
        with ui.page.context.expect_page() as opened:
            card.get_by_role("button", name="Connect").click()
        popup = opened.value
        popup.wait_for_url(f"{ui.served.url}/oauth/callback*")
        popup.close()

        ui.page.goto(f"{ui.served.url}/#/servers")
        expect(ui.page.locator(".server[data-name='Vault'] .badge.connected")).to_be_visible()
        assert config_of(ui, "Vault")["oauth"]["status"] == "connected"
