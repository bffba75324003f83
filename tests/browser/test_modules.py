"""The page's own modules, run in the browser on the served page: the frame order checks of the
socket, the branch bookkeeping of the thread, the Markdown sanitizer and the elicitation form,
including the paths whose frames the service does not send yet (branches, approvals)."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.support import Ui


def run(ui: Ui, body: str) -> Any:
    """Evaluate an async function body that may `await load("thread.js")` the page's modules."""
    ui.open()
    script = "async () => { const load = (name) => import(`/assets/js/${name}`);\n" + body + "\n}"
    return ui.page.evaluate(script)


def test_the_socket_drops_duplicates_keeps_the_catch_up_and_resyncs_on_a_gap(ui: Ui) -> None:
    seen = run(
        ui,
        """
        const { ConversationSocket } = await load("socket.js");
        const frames = [];
        const resyncs = [];
        const session = { onToken: () => () => {}, token: () => "t" };
        const socket = new ConversationSocket({
          conversationId: "c", session, onReady: () => frames.push("ready"),
          onFrame: (f) => frames.push(`${f.type}:${f.seq ?? "-"}${f.catchUp ? ":catch-up" : ""}`),
          onState: () => {},
        });
        socket._resync = (reason) => resyncs.push(reason);
        socket._startPings = () => {};
        const t = "turn-1";
        const delta = (turn_id, seq) => ({ type: "text_delta", turn_id, seq, message_id: "m",
          delta: "text" });
        socket._receive({ type: "ready", turn: { turn_id: t, message_id: "m", seq: 4 } });
        socket._receive(delta(t, 4));
        socket._receive(delta(t, 5));
        socket._receive(delta(t, 5));
        socket._receive(delta(t, 7));
        socket._receive(delta("other", 8));
        socket._receive({ type: "message", message: { id: "u" } });
        socket.stop();
        return { frames, resyncs };
        """,
    )
    assert seen["frames"] == ["ready", "text_delta:4:catch-up", "text_delta:5", "message:-"]
    assert seen["resyncs"] == ["frames 6 to 6 missing", "a frame of an unknown turn"]


def test_a_turn_that_ends_unseen_is_caught_up(ui: Ui) -> None:
    resyncs = run(
        ui,
        """
        const { ConversationSocket } = await load("socket.js");
        const resyncs = [];
        const session = { onToken: () => () => {}, token: () => "t" };
        const socket = new ConversationSocket({ conversationId: "c", session,
          onReady: () => {}, onFrame: () => {}, onState: () => {} });
        socket._resync = (reason) => resyncs.push(reason);
        socket._startPings = () => {};
        socket._receive({ type: "ready", turn: null });
        socket._receive({ type: "turn_start", turn_id: "a", seq: 1 });
        socket._receive({ type: "turn_start", turn_id: "b", seq: 1 });
        socket.stop();
        return resyncs;
        """,
    )
    assert resyncs == ["a turn ended unseen"]


def test_the_thread_places_branches_after_their_parent(ui: Ui) -> None:
    shapes = run(
        ui,
        """
        const { Thread } = await load("thread.js");
        const m = (id, role, parent, extra = {}) => ({ id, role, parent_id: parent,
          sibling_ids: [id], content: id, tool_calls: null, tool_results: null,
          finish_reason: role === "assistant" ? "stop" : null, ...extra });
        const t = new Thread();
        const ids = () => t.messages.map((x) => x.id).join(",");
        t.load([m("u1", "user", null), m("a1", "assistant", "u1"), m("u2", "user", "a1"),
          m("a2", "assistant", "u2")]);
        const out = {};
        t.branchFrom = "u2"; // a regenerate sent from this page
        t.apply({ type: "turn_start", turn_id: "t", seq: 1 });
        t.apply({ type: "text_delta", turn_id: "t", seq: 2, message_id: "a3", delta: "new" });
        out.regenerating = ids();
        t.apply({ type: "turn_end", turn_id: "t", seq: 3, status: "completed" });
        t.apply({ type: "message", message: m("u3", "user", "a1") }); // edit and resend
        out.edited = ids();
        t.apply({ type: "turn_start", turn_id: "t2", seq: 1 });
        t.apply({ type: "text_delta", turn_id: "t2", seq: 2, message_id: "a5", delta: "?" });
        // another tab's regenerate: streamed at the end, moved beside its parent when stored
        t.apply({ type: "message", turn_id: "t2", seq: 3, message: m("a5", "assistant", "u1") });
        out.moved = ids();
        return out;
        """,
    )
    assert shapes == {
        "regenerating": "u1,a1,u2,a3",
        "edited": "u1,a1,u3",
        "moved": "u1,a5",
    }


def test_the_thread_keeps_what_waits_for_the_person_across_a_reconnect(ui: Ui) -> None:
    state = run(
        ui,
        """
        const { Thread } = await load("thread.js");
        const call = { id: "c1", name: "notes__delete", arguments: { name: "x" } };
        const t = new Thread();
        t.load([{ id: "u", role: "user", parent_id: null, content: "go" },
          { id: "a", role: "assistant", parent_id: "u", content: "", tool_calls: [call],
            finish_reason: "tool_calls" }]);
        t.applyReady({ type: "ready", turn: { turn_id: "t", message_id: null, seq: 6, pending: [
          { type: "approval_request", turn_id: "t", seq: 5, tool_call: call, config_id: "k",
            tool: "delete", annotations: { destructiveHint: true } },
          { type: "elicitation_request", turn_id: "t", seq: 6, elicitation_id: "e",
            config_id: "k", message: "why?", requested_schema: {} }] } });
        const before = [t.running, t.approvals.has("c1"), t.owner.get("c1"),
          t.elicitations.has("e")];
        t.apply({ type: "approval_result", turn_id: "t", seq: 7, tool_call_id: "c1",
          decision: "deny", by: "user" });
        t.apply({ type: "elicitation_result", turn_id: "t", seq: 8, elicitation_id: "e",
          action: "decline" });
        return { before, after: [t.approvals.size, t.decisions.get("c1").decision,
          t.elicitations.size] };
        """,
    )
    assert state == {"before": [True, True, "a", True], "after": [0, "deny", 0]}


def test_markdown_keeps_no_script_url_and_no_raw_html(ui: Ui) -> None:
    rendered = run(
        ui,
        """
        const { renderMarkdown } = await load("markdown.js");
        const html = (text) => {
          const div = document.createElement("div");
          div.append(renderMarkdown(text));
          const hrefs = [...div.querySelectorAll("[href], [src]")].map(
            (n) => n.getAttribute("href") || n.getAttribute("src"));
          return { html: div.innerHTML, hrefs };
        };
        return [
          html("[a](javascript:alert(1)) [b](JaVaScRiPt:alert(1)) [c](data:text/html,x)"),
          html("<javascript:alert(1)> <a href=\\"javascript:alert(1)\\">x</a>"),
          html("[d](&#106;avascript:alert(1)) [e][r]\\n\\n[r]: javascript:alert(1)"),
          html("<svg onload=alert(1)>  <iframe src=x></iframe> <style>*{}</style>"),
          html("[ok](https://example.com/a?b=1) <https://example.com>"),
        ];
        """,
    )
    for one in rendered:
        assert all(href.startswith("https://") for href in one["hrefs"]), one
        assert not re.search(r"<(svg|iframe|style|script|img)", one["html"]), one
    assert rendered[3]["html"].count("&lt;") >= 3
    assert rendered[4]["hrefs"] == ["https://example.com/a?b=1", "https://example.com"]
    assert rendered[4]["html"].count('rel="noopener noreferrer nofollow"') == 2
    assert [one["hrefs"] for one in rendered[:4]] == [[], [], [], []]


def test_an_elicitation_form_answers_with_the_types_of_its_schema(ui: Ui) -> None:
    value = run(
        ui,
        """
        const { schemaForm } = await load("views/schemaform.js");
        const form = schemaForm({ type: "object", required: ["name", "size"], properties: {
          name: { type: "string", title: "Name" },
          size: { type: "string", enum: ["s", "m", "l"] },
          count: { type: "integer", minimum: 1 },
          ratio: { type: "number" },
          agree: { type: "boolean", default: true },
          note: { type: "string" },
        } });
        document.body.append(form.node);
        const empty = form.node.checkValidity();
        form.node.elements.name.value = "Ada";
        form.node.elements.size.value = "m";
        form.node.elements.count.value = "3";
        form.node.elements.ratio.value = "0.5";
        return { empty, filled: form.node.checkValidity(), value: form.value() };
        """,
    )
    assert value["empty"] is False
    assert value["filled"] is True
    assert value["value"] == {"name": "Ada", "size": "m", "count": 3, "ratio": 0.5, "agree": True}
