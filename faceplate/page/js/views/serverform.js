// The add / edit form of one MCP server config. Stored secrets come back as "********";
// leaving them so keeps them (the contract), changing the address requires them anew.

import { h } from "../dom.js";
import { errorWords } from "../words.js";

const TRANSPORTS = [
  ["streamable_http", "Streamable HTTP"],
  ["sse", "SSE (older servers)"],
  ["stdio", "stdio (a program the operator allows)"],
];

function pairRows(title, pairs, keyLabel) {
  const rows = h("div", { class: "pairs" });
  const add = (key = "", value = "") => {
    const row = h("div", { class: "pair" },
      h("input", { class: "pair-key", placeholder: keyLabel, "aria-label": `${title} name`, value: key }),
      h("input", { class: "pair-value", placeholder: "value", "aria-label": `${title} value`, value }),
      h("button", { type: "button", class: "icon", title: "Remove", text: "×", onclick: () => row.remove() }));
    rows.append(row);
  };
  for (const [key, value] of Object.entries(pairs || {})) add(key, value);
  const node = h("fieldset", { class: "pairs-field" }, h("legend", { text: title }), rows,
    h("button", { type: "button", class: "link", text: `Add ${keyLabel}`, onclick: () => add() }));
  const value = () => {
    const out = {};
    for (const row of rows.querySelectorAll(".pair")) {
      const key = row.querySelector(".pair-key").value.trim();
      if (key) out[key] = row.querySelector(".pair-value").value;
    }
    return out;
  };
  return { node, value };
}

function labelled(text, input) {
  return h("label", { class: "field" }, h("span", { text }), input);
}

/** The form; options = {approval: bool, onSave(body) (throws ApiError), onCancel()}. */
export function configForm(existing, options) {
  const current = existing ? existing.config : { transport: "streamable_http" };
  const name = h("input", { name: "name", required: true, maxlength: "100", value: existing ? existing.name : "" });
  const transport = h("select", { name: "transport" },
    TRANSPORTS.map(([v, t]) => h("option", { value: v, text: t, selected: v === current.transport })));
  const url = h("input", { name: "url", type: "url", placeholder: "https://…/mcp", value: current.url || "" });
  const headers = pairRows("Headers", current.headers, "header");
  const command = h("input", { name: "command", value: current.command || "" });
  const args = h("textarea", { name: "args", rows: "3", placeholder: "one argument per line" });
  args.value = (current.args || []).join("\n");
  const env = pairRows("Environment", current.env, "variable");
  const oauth = current.oauth || {};
  const clientId = h("input", { name: "client_id", value: oauth.client_id || "" });
  const clientSecret = h("input", { name: "client_secret", type: "password", value: oauth.client_secret || "" });
  const scopes = h("input", { name: "scopes", placeholder: "space-separated", value: (oauth.scopes || []).join(" ") });
  const approval = h("select", { name: "tool_approval" },
    ["never", "writes", "always"].map((v) => h("option", { value: v, selected: existing && existing.tool_approval === v,
      text: { never: "never ask", writes: "ask before tools that may write", always: "ask before every tool" }[v] })));
  const error = h("p", { class: "notice error", hidden: true, role: "alert" });

  const remote = h("div", { class: "remote" }, labelled("URL", url), headers.node,
    h("details", { class: "oauth-client", open: Boolean(oauth.client_id) },
      h("summary", { text: "Pre-registered OAuth client (optional)" }),
      labelled("Client id", clientId), labelled("Client secret", clientSecret), labelled("Scopes", scopes)));
  const local = h("div", { class: "local" }, labelled("Command", command), labelled("Arguments", args), env.node);
  const show = () => {
    const stdio = transport.value === "stdio";
    remote.hidden = stdio;
    local.hidden = !stdio;
    url.required = !stdio;
    command.required = stdio;
  };
  transport.addEventListener("change", show);
  show();

  const body = () => {
    let config;
    if (transport.value === "stdio") {
      config = { transport: "stdio", command: command.value.trim(),
        args: args.value.split("\n").map((a) => a.trim()).filter(Boolean), env: env.value() };
    } else {
      config = { transport: transport.value, url: url.value.trim(), headers: headers.value() };
      if (clientId.value.trim()) {
        config.oauth = { client_id: clientId.value.trim() };
        if (clientSecret.value) config.oauth.client_secret = clientSecret.value;
        const list = scopes.value.split(/\s+/).filter(Boolean);
        if (list.length) config.oauth.scopes = list;
      }
    }
    const out = { name: name.value.trim(), config };
    if (options.approval) out.tool_approval = approval.value;
    return out;
  };

  const form = h("form", { class: "server-form", "aria-label": existing ? "Edit server" : "Add server" },
    h("h2", { text: existing ? `Edit ${existing.name}` : "Add an MCP server" }),
    labelled("Name", name), labelled("Transport", transport), remote, local,
    options.approval ? labelled("Ask before running tools", approval) : null,
    error,
    h("div", { class: "actions" },
      h("button", { class: "primary", type: "submit", text: existing ? "Save" : "Add" }),
      h("button", { type: "button", text: "Cancel", onclick: options.onCancel })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    try {
      await options.onSave(body());
    } catch (err) {
      error.textContent = errorWords(err.code, err.message);
      error.hidden = false;
    }
  });
  return form;
}
