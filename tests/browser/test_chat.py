"""The chat page in Chromium against the real app: sign-in, streaming, reload, stop, safety."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.support import Ui

WORDS = [f"w{i} " for i in range(1, 41)]


def test_the_page_signs_in_by_itself_and_streams_markdown(ui: Ui) -> None:
    ui.served.llm.reply_text(
        ["Hello", " from", " the", " **model**", "\n\n- one\n", "- two"], delay_s=0.3
    )
    ui.open()
    expect(ui.page.locator(".who .email")).to_have_text(ui.email)

    ui.send("Say hello\nsecond line")

    answer = ui.page.locator(".msg.assistant").last
    expect(ui.page.locator(".msg.assistant.streaming")).to_be_visible()
    expect(ui.page.get_by_role("button", name="Stop")).to_be_visible()
    expect(answer.locator("strong")).to_have_text("model")
    expect(answer).not_to_have_class("msg assistant streaming")
    expect(answer.locator("li")).to_have_text(["one", "two"])
    expect(answer).to_have_attribute("data-finish", "stop")
    expect(ui.page.get_by_role("button", name="Send")).to_be_visible()
    # The conversation is listed under its title, the first line of the first message.
    expect(ui.page.locator(".conversation.selected .title")).to_have_text("Say hello")


def test_a_reload_and_a_second_tab_mid_answer_continue_where_the_turn_is(ui: Ui) -> None:
    ui.served.llm.reply_text(WORDS, delay_s=0.15)
    ui.open()
    ui.send("count")
    answer = ui.page.locator(".msg.assistant .msg-text").last
    expect(answer).to_contain_text("w3")

    ui.page.reload()
    expect(ui.page.locator(".msg.assistant.streaming")).to_be_visible()
    second = ui.page.context.new_page()
    second.goto(ui.page.url)
    for page in (ui.page, second):
        done = page.locator(".msg.assistant[data-finish=stop] .msg-text")
        expect(done).to_have_text("".join(WORDS).strip())
    second.close()


def test_stop_ends_the_answer_and_says_so(ui: Ui) -> None:
    ui.served.llm.reply_text(WORDS * 3, delay_s=0.1)
    ui.open()
    ui.send("talk for a while")
    expect(ui.page.locator(".msg.assistant .msg-text").last).to_contain_text("w2")

    ui.page.get_by_role("button", name="Stop").click()

    expect(ui.page.locator(".msg.assistant[data-finish=cancelled]")).to_contain_text("Stopped.")
    expect(ui.page.get_by_role("button", name="Send")).to_be_visible()
    stored = ui.messages(ui.conversation_id())
    assert [m["finish_reason"] for m in stored if m["role"] == "assistant"] == ["cancelled"]


def test_html_from_the_model_is_shown_as_text_and_never_runs(ui: Ui) -> None:
    ui.served.llm.reply_text(
        [
            "Look: <script>window.__pwned = 1</script> and ",
            '<img src=x onerror="window.__pwned = 2"> then ',
            "[a link](javascript:window.__pwned=3) and ",
            "[a good one](https://example.com) **bold**\n\n",
            '<div onmouseover="window.__pwned = 4">block html</div>\n\n',
            "![pic](https://example.com/p.png)",
        ]
    )
    ui.open()
    ui.send("be naughty")

    answer = ui.page.locator(".msg.assistant[data-finish=stop]")
    expect(answer).to_contain_text("<script>window.__pwned = 1</script>")
    expect(answer).to_contain_text('<img src=x onerror="window.__pwned = 2">')
    expect(answer).to_contain_text('<div onmouseover="window.__pwned = 4">block html</div>')
    expect(answer.locator("strong")).to_have_text("bold")
    assert answer.locator("img, script, div[onmouseover]").count() == 0
    assert ui.page.locator(".thread img").count() == 0
    bad = answer.get_by_text("a link")
    assert bad.get_attribute("href") is None
    good = answer.get_by_role("link", name="a good one")
    assert good.get_attribute("href") == "https://example.com"
    assert good.get_attribute("rel") == "noopener noreferrer nofollow"
    assert ui.page.evaluate("window.__pwned") is None


def test_a_failed_turn_and_a_cut_off_answer_are_told_in_words(ui: Ui) -> None:
    ui.served.llm.reply_error(500, "the model is down")
    ui.open()
    ui.send("hello?")
    expect(ui.page.locator(".notice.error")).to_contain_text("Failed.")

    ui.served.llm.reply_text(["It was a long"], finish="length")
    ui.send("again")
    expect(ui.page.locator(".msg.assistant[data-finish=length]")).to_contain_text(
        "Cut off: the answer reached the model's length limit."
    )


def test_conversations_are_renamed_and_deleted_from_the_list(ui: Ui) -> None:
    ui.served.llm.reply_text(["First."])
    ui.open()
    ui.send("first chat")
    expect(ui.page.locator(".msg.assistant[data-finish=stop]")).to_be_visible()
    conversation_id = ui.conversation_id()
    item = ui.page.locator(f".conversation[data-id='{conversation_id}']")

    item.get_by_title("Rename").click()
    ui.page.get_by_label("New title").fill("Renamed chat")
    ui.page.get_by_label("New title").press("Enter")
    expect(item.locator(".title")).to_have_text("Renamed chat")
    expect(ui.page.locator(".chat-title")).to_have_text("Renamed chat")

    item.get_by_title("Delete").click()  # the confirm dialog is accepted
    expect(item).to_have_count(0)
    expect(ui.page.locator(".chat-title")).to_have_text("New chat")
    with ui.api() as http:
        assert http.get(f"/v1/conversations/{conversation_id}").status_code == 404


def test_what_the_service_does_not_offer_is_left_out(ui: Ui) -> None:
    ui.served.llm.reply_text(["Hi."])
    ui.open()
    ui.send("hello")
    expect(ui.page.locator(".msg.assistant[data-finish=stop]")).to_be_visible()
    with ui.api() as http:
        models = http.get("/v1/models").status_code == 200
        usage = http.get("/v1/me/usage").status_code == 200
    branches = "sibling_ids" in ui.messages(ui.conversation_id())[-1]
    expect(ui.page.get_by_label("Model")).to_have_count(1 if models else 0)
    expect(ui.page.get_by_role("link", name="Usage")).to_have_count(1 if usage else 0)
    expect(ui.page.get_by_role("button", name="Regenerate")).to_have_count(1 if branches else 0)
    expect(ui.page.get_by_role("button", name="Edit")).to_have_count(0)  # the first message
