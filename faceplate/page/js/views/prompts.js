// What a turn asks of the person: approve a tool call, fill in a server's form, connect a server.

import { h } from "../dom.js";
import { schemaForm } from "./schemaform.js";

function hints(annotations) {
  if (!annotations) return "";
  const words = [];
  if (annotations.readOnlyHint) words.push("read-only");
  if (annotations.destructiveHint) words.push("may change or delete data");
  if (annotations.openWorldHint) words.push("reaches the outside world");
  return words.join(", ");
}

/** Allow / deny (and remember) one tool call; onApproval(toolCallId, decision, remember). */
export function approvalCard(frame, onApproval) {
  const remember = h("input", { type: "checkbox", class: "remember" });
  const call = frame.tool_call;
  const note = hints(frame.annotations);
  const answer = (decision) => (event) => {
    event.preventDefault();
    for (const button of card.querySelectorAll("button")) button.disabled = true;
    onApproval(call.id, decision, remember.checked);
  };
  const card = h("div", { class: "approval", role: "group", "aria-label": "approval" },
    h("p", {}, "Run ", h("strong", { text: frame.tool || call.name }), "?",
      note ? h("span", { class: "hint", text: ` (${note})` }) : null),
    h("div", { class: "actions" },
      h("button", { class: "primary", onclick: answer("allow"), text: "Allow" }),
      h("button", { onclick: answer("deny"), text: "Deny" }),
      h("label", { class: "check" }, remember, " remember for this tool")));
  return card;
}

/** A server's form (elicitation); onAnswer(elicitationId, action, content). */
export function elicitationCard(frame, onAnswer) {
  const form = schemaForm(frame.requested_schema || {});
  const answer = (action) => (event) => {
    event.preventDefault();
    if (action === "accept" && !form.node.reportValidity()) return;
    onAnswer(frame.elicitation_id, action, action === "accept" ? form.value() : undefined);
  };
  form.node.addEventListener("submit", answer("accept"));
  return h("section", { class: "prompt elicitation", dataset: { elicitationId: frame.elicitation_id } },
    h("p", { class: "prompt-title", text: frame.message || "A tool asks for input." }),
    form.node,
    h("div", { class: "actions" },
      h("button", { class: "primary", onclick: answer("accept"), text: "Send" }),
      h("button", { onclick: answer("decline"), text: "Decline" }),
      h("button", { onclick: answer("cancel"), text: "Cancel" })));
}

/** "Connect" for a server that needs OAuth; onConnect(configId) opens its authorization page. */
export function connectCard(notice, onConnect) {
  return h("section", { class: "prompt connect" },
    h("p", {}, h("strong", { text: notice.name }), " needs you to connect it before its tools can be used."),
    h("div", { class: "actions" },
      h("button", { class: "primary", onclick: () => onConnect(notice.config_id), text: "Connect" })));
}
