// One message of the branch: text (Markdown for the assistant), its tool calls, how it ended,
// and what can be done with it (edit, regenerate, the branch arrows).

import { h, when } from "../dom.js";
import { setMarkdown } from "../markdown.js";
import { finishWords } from "../words.js";
import { toolCallView } from "./toolcall.js";

/**
 * ctx = {thread, running, streaming, canRegenerate, onEdit(message, text),
 * onRegenerate(message), onBranch(messageId), onApproval(...)}.
 */
export function messageView(message, ctx) {
  if (message.role === "user") return userView(message, ctx);
  if (message.role === "assistant") return assistantView(message, ctx);
  if (message.role === "tool") return toolView(message, ctx);
  return h("article", { class: "msg system", dataset: { id: message.id, role: message.role } },
    h("div", { class: "msg-text", text: message.content }));
}

function branchArrows(message, ctx) {
  const siblings = message.sibling_ids || [];
  if (siblings.length < 2) return null;
  const at = siblings.indexOf(message.id);
  const go = (offset) => () => ctx.onBranch(siblings[at + offset]);
  return h("span", { class: "branches", "aria-label": "branches" },
    h("button", { class: "icon", title: "Previous branch", disabled: at <= 0 || ctx.running,
      onclick: go(-1), text: "‹" }),
    h("span", { class: "branch-count", text: `${at + 1} / ${siblings.length}` }),
    h("button", { class: "icon", title: "Next branch", disabled: at >= siblings.length - 1 || ctx.running,
      onclick: go(1), text: "›" }));
}

function userView(message, ctx) {
  const text = h("div", { class: "msg-text", text: message.content });
  const article = h("article", { class: "msg user", dataset: { id: message.id, role: "user" } }, text);
  // Edit and resend starts a branch after this message's parent: the contract names no root.
  const editable = typeof message.parent_id === "string" && Array.isArray(message.sibling_ids);
  const actions = h("footer", { class: "msg-actions" },
    branchArrows(message, ctx),
    editable ? h("button", { class: "link", title: "Edit", disabled: ctx.running,
      onclick: () => startEdit(article, text, message, ctx), text: "Edit" }) : null);
  if (actions.childNodes.length) article.append(actions);
  return article;
}

function startEdit(article, text, message, ctx) {
  const area = h("textarea", { class: "edit-area", rows: "3", "aria-label": "Edit message" });
  area.value = message.content;
  const editor = h("form", { class: "editor" }, area,
    h("div", { class: "actions" },
      h("button", { class: "primary", type: "submit", text: "Send" }),
      h("button", { type: "button", text: "Cancel", onclick: () => editor.replaceWith(text) })));
  editor.addEventListener("submit", (event) => {
    event.preventDefault();
    if (area.value.trim()) ctx.onEdit(message, area.value);
  });
  text.replaceWith(editor);
  article.querySelector(".msg-actions")?.remove();
  area.focus();
}

function assistantView(message, ctx) {
  const streaming = ctx.thread.streamingId === message.id && ctx.running;
  const body = h("div", { class: "msg-text markdown" });
  setMarkdown(body, message.content);
  const calls = (message.tool_calls || []).map((call) => toolCallView(call, ctx));
  const finish = finishWords(message.finish_reason);
  const regenerate = ctx.canRegenerate(message);
  const meta = [message.model, message.usage
    ? `${message.usage.input_tokens} in · ${message.usage.output_tokens} out` : null, when(message.created_at)]
    .filter(Boolean).join(" · ");
  const actions = h("footer", { class: "msg-actions" },
    branchArrows(message, ctx),
    regenerate ? h("button", { class: "link", title: "Regenerate", disabled: ctx.running,
      onclick: () => ctx.onRegenerate(message), text: "Regenerate" }) : null,
    streaming ? null : h("span", { class: "meta", text: meta }));
  return h("article", {
    class: `msg assistant${streaming ? " streaming" : ""}`,
    dataset: { id: message.id, role: "assistant", finish: message.finish_reason || "" },
  },
  message.content || streaming ? body : null,
  calls.length ? h("div", { class: "tool-calls" }, calls) : null,
  streaming ? h("span", { class: "typing", "aria-label": "writing", text: "…" }) : null,
  finish ? h("p", { class: `finish ${message.finish_reason}`, text: finish }) : null,
  actions);
}

/** A tool message is shown under its calls; alone only when a result has no call in view. */
function toolView(message, ctx) {
  const orphans = (message.tool_results || []).filter((r) => !ctx.thread.owner.has(r.tool_call_id));
  if (!orphans.length) return null;
  return h("article", { class: "msg tool", dataset: { id: message.id, role: "tool" } },
    orphans.map((result) => toolCallView(
      { id: result.tool_call_id, name: result.name, arguments: {} }, ctx)));
}
