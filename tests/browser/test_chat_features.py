"""Regenerate, edit and resend, branch arrows, the model picker, search, archive and usage.

Each test first asks the service whether it offers the feature (issue 15) and skips with that
reason when it does not, so they start running as soon as it does.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.support import Served, Ui

NEEDS_15 = "needs issue 15 (branches, models, usage, search, archive)"


def first_turn(ui: Ui, question: str, answer: str) -> str:
    ui.served.llm.reply_text([answer])
    ui.send(question)
    expect(ui.page.locator(".msg.assistant[data-finish=stop]").last).to_contain_text(answer)
    return ui.conversation_id()


def needs_branches(ui: Ui, conversation_id: str) -> None:
    if "sibling_ids" not in ui.messages(conversation_id)[0]:
        pytest.skip(f"{NEEDS_15}: messages carry no sibling_ids")


def needs_route(served: Served, email: str, path: str) -> None:
    with served.api(email) as http:
        if http.get(path).status_code == 404:
            pytest.skip(f"{NEEDS_15}: GET {path} is 404")


def test_regenerate_makes_a_second_answer_and_the_arrows_walk_them(ui: Ui) -> None:
    ui.open()
    conversation_id = first_turn(ui, "pick a number", "Seven.")
    needs_branches(ui, conversation_id)

    ui.served.llm.reply_text(["Eleven."])
    ui.page.get_by_role("button", name="Regenerate").click()
    answer = ui.page.locator(".msg.assistant").last
    expect(answer).to_contain_text("Eleven.")
    expect(answer.locator(".branch-count")).to_have_text("2 / 2")
    assert ui.page.locator(".msg.assistant").count() == 1

    answer.get_by_title("Previous branch").click()
    expect(ui.page.locator(".msg.assistant").last).to_contain_text("Seven.")
    expect(ui.page.locator(".branch-count")).to_have_text("1 / 2")
    ui.page.reload()
    expect(ui.page.locator(".msg.assistant").last).to_contain_text("Seven.")


def test_editing_a_message_starts_a_branch_beside_it(ui: Ui) -> None:
    ui.open()
    conversation_id = first_turn(ui, "hello", "Hi.")
    needs_branches(ui, conversation_id)
    first_turn(ui, "what is the capital of France?", "Paris.")

    question = ui.page.locator(".msg.user").last
    question.get_by_role("button", name="Edit").click()
    ui.page.get_by_label("Edit message").fill("what is the capital of Italy?")
    ui.served.llm.reply_text(["Rome."])
    ui.page.get_by_role("button", name="Send", exact=True).first.click()

    expect(ui.page.locator(".msg.assistant").last).to_contain_text("Rome.")
    edited = ui.page.locator(".msg.user").last
    expect(edited).to_contain_text("Italy")
    expect(edited.locator(".branch-count")).to_have_text("2 / 2")
    assert ui.page.locator(".msg.user").count() == 2
    # The model saw the active branch only: the first exchange and the edited question.
    sent = [
        m["content"] for m in ui.served.llm.requests[-1].body["messages"] if m["role"] == "user"
    ]
    assert sent == ["hello", "what is the capital of Italy?"]


def test_the_model_picker_sets_the_conversation_model(ui: Ui) -> None:
    needs_route(ui.served, ui.email, "/v1/models")
    ui.open()
    picker = ui.page.get_by_label("Model")
    large = f"{ui.served.llm.model}-large"
    picker.select_option(large)
    conversation_id = first_turn(ui, "which model?", "The large one.")
    assert ui.served.llm.requests[-1].body["model"] == large
    with ui.api() as http:
        assert http.get(f"/v1/conversations/{conversation_id}").json()["model"] == large
    ui.page.reload()
    expect(ui.page.get_by_label("Model")).to_have_value(large)


def test_usage_per_day_is_shown(ui: Ui) -> None:
    needs_route(ui.served, ui.email, "/v1/me/usage")
    ui.open()
    ui.served.llm.reply_text(["Counted."], usage=(120, 30))
    ui.send("count my tokens")
    expect(ui.page.locator(".msg.assistant[data-finish=stop]")).to_be_visible()
    ui.page.get_by_role("link", name="Usage").click()
    row = ui.page.locator("table.usage tbody tr").first
    expect(row).to_contain_text("120")
    expect(row).to_contain_text("30")
    expect(ui.page.locator(".usage-today")).to_contain_text("150")


def test_search_finds_a_conversation_by_its_text(ui: Ui) -> None:
    ui.open()
    first_turn(ui, "tell me about zebras", "Striped.")
    ui.page.get_by_role("link", name="New chat", exact=True).click()
    conversation_id = first_turn(ui, "and penguins", "Tuxedo birds, mostly in the south.")
    with ui.api() as http:
        item = http.get("/v1/conversations").json()["items"][0]
    if "archived" not in item:
        pytest.skip(f"{NEEDS_15}: conversations have no search and archive yet")

    ui.page.get_by_label("Search conversations").fill("tuxedo")
    listed = ui.page.locator(".conversation")
    expect(listed).to_have_count(1)
    expect(listed.locator(".snippet")).to_contain_text("Tuxedo")
    assert listed.get_attribute("data-id") == conversation_id


def test_archive_moves_a_conversation_out_of_the_list_and_back(ui: Ui) -> None:
    ui.open()
    conversation_id = first_turn(ui, "keep this for later", "Kept.")
    with ui.api() as http:
        if "archived" not in http.get(f"/v1/conversations/{conversation_id}").json():
            pytest.skip(f"{NEEDS_15}: conversations have no archived flag yet")
    item = ui.page.locator(f".conversation[data-id='{conversation_id}']")
    item.get_by_title("Archive").click()
    expect(item).to_have_count(0)

    ui.page.get_by_role("button", name="Archived").click()
    expect(item).to_be_visible()
    item.hover()  # its actions show on hover (or while it is the open conversation)
    item.get_by_title("Unarchive").click()
    expect(item).to_have_count(0)
    ui.page.get_by_role("button", name="Back to conversations").click()
    expect(item).to_be_visible()
