// Tokens per UTC day and model (GET /v1/me/usage), the last 30 days by default.

import { h, mount } from "../dom.js";
import { errorWords } from "../words.js";

function day(offset) {
  const date = new Date(Date.now() + offset * 86400000);
  return date.toISOString().slice(0, 10);
}

export class UsageView {
  constructor(app, root) {
    this.app = app;
    this.root = root;
  }

  async open() {
    const from = h("input", { type: "date", value: day(-29), "aria-label": "From" });
    const to = h("input", { type: "date", value: day(0), "aria-label": "To" });
    const body = h("div", { class: "usage-body" });
    const show = () => this._load(from.value, to.value, body);
    mount(this.root,
      h("header", { class: "chat-header" }, h("h1", { text: "Usage" }),
        h("form", { class: "range", onsubmit: (e) => { e.preventDefault(); show(); } },
          from, to, h("button", { type: "submit", text: "Show" }))),
      h("div", { class: "scroller page-body" }, body));
    await show();
  }

  close() {}

  async _load(from, to, body) {
    let usage;
    try {
      usage = await this.app.api.usage(from, to);
    } catch (err) {
      mount(body, h("p", { class: "notice error", text: errorWords(err.code, err.message) }));
      return;
    }
    if (!usage) {
      mount(body, h("p", { class: "empty", text: "This server does not report usage." }));
      return;
    }
    const total = usage.days.reduce((sum, d) => sum + d.input_tokens + d.output_tokens, 0);
    const limit = usage.limit_per_day;
    mount(body,
      h("p", { class: "usage-today" },
        `Today: ${usage.used_today.toLocaleString()} tokens`,
        limit ? ` of ${limit.toLocaleString()} a day` : "",
        `. In this range: ${total.toLocaleString()}.`),
      usage.days.length ? h("table", { class: "usage" },
        h("thead", {}, h("tr", {}, ["Day", "Model", "Input", "Output", "Total"].map((t) => h("th", { text: t })))),
        h("tbody", {}, usage.days.map((d) => h("tr", {},
          h("td", { text: d.date }), h("td", { text: d.model || "—" }),
          h("td", { class: "num", text: d.input_tokens.toLocaleString() }),
          h("td", { class: "num", text: d.output_tokens.toLocaleString() }),
          h("td", { class: "num", text: (d.input_tokens + d.output_tokens).toLocaleString() })))))
        : h("p", { class: "empty", text: "No tokens used in this range." }));
  }
}
