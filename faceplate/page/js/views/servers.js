// MCP servers: add (each transport), edit, enable or disable, delete, connect (OAuth), and the
// live tools of each with the name the model calls, annotations and policy.

import { h, mount } from "../dom.js";
import { errorWords } from "../words.js";
import { configForm } from "./serverform.js";

const POLICIES = ["allow", "ask", "deny"];

export class ServersView {
  /** app = {api, notify}. */
  constructor(app, root) {
    this.app = app;
    this.root = root;
    this.configs = [];
    this.listNode = h("div", { class: "server-list" });
    this.formSlot = h("div", { class: "form-slot" });
    this.onFocus = () => this.load();
  }

  async open(params) {
    mount(this.root,
      h("header", { class: "chat-header" }, h("h1", { text: "MCP servers" }),
        h("button", { class: "primary", text: "Add server", onclick: () => this._edit(null) })),
      h("div", { class: "scroller page-body" }, this.formSlot, this.listNode));
    // Back from an authorization page (FACEPLATE_OAUTH_RETURN_URL pointing here).
    if (params.get("status")) {
      this.app.notify(params.get("status") === "connected" ? "Server connected." : "The server was not connected.");
    }
    window.addEventListener("focus", this.onFocus);
    await this.load();
  }

  close() {
    window.removeEventListener("focus", this.onFocus);
  }

  get approvalSupported() {
    return this.configs.some((c) => "tool_approval" in c);
  }

  async load() {
    try {
      this.configs = await this.app.api.configs();
    } catch (err) {
      mount(this.listNode, h("p", { class: "notice error", text: errorWords(err.code, err.message) }));
      return;
    }
    mount(this.listNode, this.configs.length ? this.configs.map((c) => this._card(c))
      : h("p", { class: "empty", text: "No MCP servers yet. Add one to give the model tools." }));
  }

  _card(config) {
    const toolsSlot = h("div", { class: "tools-slot" });
    const enabled = h("input", { type: "checkbox", checked: config.enabled, "aria-label": "Enabled",
      onchange: () => this._patch(config, { enabled: enabled.checked }) });
    const where = config.config.transport === "stdio"
      ? [config.config.command, ...(config.config.args || [])].join(" ") : config.config.url;
    const oauth = config.oauth;
    return h("section", { class: "server", dataset: { id: config.id, name: config.name } },
      h("div", { class: "server-head" },
        h("h2", { text: config.name }),
        h("span", { class: "badge", text: config.config.transport }),
        oauth ? h("span", { class: `badge ${oauth.status}`,
          text: oauth.status === "connected" ? "connected" : "needs connecting" }) : null,
        h("label", { class: "check" }, enabled, " enabled")),
      h("p", { class: "where", text: where }),
      "tool_approval" in config ? h("p", { class: "meta", text: `Approval: ${config.tool_approval}` }) : null,
      h("div", { class: "actions" },
        h("button", { text: "Tools", onclick: () => this._tools(config, toolsSlot) }),
        h("button", { text: "Edit", onclick: () => this._edit(config) }),
        oauth && oauth.status !== "connected" ? h("button", { class: "primary", text: "Connect",
          onclick: () => this._connect(config) }) : null,
        oauth && oauth.status === "connected" ? h("button", { text: "Disconnect",
          onclick: () => this._disconnect(config) }) : null,
        h("button", { class: "danger", text: "Delete", onclick: () => this._delete(config) })),
      toolsSlot);
  }

  _edit(config) {
    const form = configForm(config, {
      approval: this.approvalSupported || (config && "tool_approval" in config),
      onSave: async (body) => {
        if (config) await this.app.api.patchConfig(config.id, body);
        else await this.app.api.createConfig(body);
        this.formSlot.replaceChildren();
        await this.load();
      },
      onCancel: () => this.formSlot.replaceChildren(),
    });
    mount(this.formSlot, form);
    form.querySelector("input")?.focus();
  }

  async _patch(config, body) {
    try {
      await this.app.api.patchConfig(config.id, body);
    } catch (err) {
      this.app.notify(errorWords(err.code, err.message));
    }
    await this.load();
  }

  async _delete(config) {
    if (!window.confirm(`Delete the server "${config.name}"?`)) return;
    try {
      await this.app.api.deleteConfig(config.id);
    } catch (err) {
      this.app.notify(errorWords(err.code, err.message));
    }
    await this.load();
  }

  async _connect(config) {
    try {
      const { authorization_url: url } = await this.app.api.connect(config.id);
      window.open(url, "_blank", "noopener");
    } catch (err) {
      this.app.notify(errorWords(err.code, err.message));
    }
  }

  async _disconnect(config) {
    try {
      await this.app.api.disconnect(config.id);
    } catch (err) {
      this.app.notify(errorWords(err.code, err.message));
    }
    await this.load();
  }

  async _tools(config, slot) {
    mount(slot, h("p", { class: "meta", text: "Asking the server…" }));
    let tools;
    try {
      tools = (await this.app.api.tools(config.id)).tools;
    } catch (err) {
      const text = err.status === 502 ? `The server could not be reached: ${err.message}`
        : errorWords(err.code, err.message);
      mount(slot, h("p", { class: "notice error", text }),
        err.status === 424 ? h("button", { class: "primary", text: "Connect",
          onclick: () => this._connect(config) }) : null);
      return;
    }
    const policies = config.tool_policies || {};
    const withPolicy = "tool_policies" in config;
    mount(slot, h("table", { class: "tools" },
      h("thead", {}, h("tr", {}, h("th", { text: "Tool" }), h("th", { text: "Model calls it" }),
        h("th", { text: "Description" }), h("th", { text: "Hints" }), withPolicy ? h("th", { text: "Policy" }) : null)),
      h("tbody", {}, tools.map((tool) => h("tr", { dataset: { tool: tool.name } },
        h("td", {}, h("code", { text: tool.name })),
        h("td", {}, tool.model_name ? h("code", { text: tool.model_name }) : "—"),
        h("td", { text: tool.description || "" }),
        h("td", { text: hints(tool.annotations) }),
        withPolicy ? h("td", {}, this._policy(config, tool, policies)) : null))),
    ));
  }

  _policy(config, tool, policies) {
    const current = policies[tool.name] || "";
    const select = h("select", { "aria-label": `Policy of ${tool.name}`, onchange: () => {
      const next = { ...policies };
      if (select.value) next[tool.name] = select.value;
      else delete next[tool.name];
      this._patch(config, { tool_policies: next });
    } },
    h("option", { value: "", text: `default (${tool.policy || config.tool_approval})` }),
    POLICIES.map((p) => h("option", { value: p, text: p, selected: p === current })));
    return select;
  }
}

function hints(annotations) {
  if (!annotations) return "";
  return Object.entries(annotations)
    .filter(([, v]) => v !== null && v !== false)
    .map(([k, v]) => (v === true ? k.replace(/Hint$/, "") : `${k}: ${v}`)).join(", ");
}
