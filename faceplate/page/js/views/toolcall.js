// One tool call folded under its step: name, arguments, approval, and its result.

import { h } from "../dom.js";
import { duration } from "../words.js";
import { approvalCard } from "./prompts.js";

const DECIDED_BY = { user: "by you", policy: "by policy", timeout: "after waiting too long",
  cancel: "when the answer was stopped" };

function json(value) {
  try {
    return JSON.stringify(value, null, 2);
  } catch (err) {
    return String(value);
  }
}

/** The blocks of a ToolResult's content: text as text, images as data: images, the rest as JSON. */
export function resultContent(result) {
  return (result.content || []).map((block) => {
    if (block.type === "text") return h("pre", { class: "tool-text", text: block.text });
    if (block.type === "image" && /^image\/(png|jpeg|gif|webp)$/.test(block.mime_type || "")) {
      return h("img", {
        class: "tool-image", alt: "image from the tool", src: `data:${block.mime_type};base64,${block.data}`,
      });
    }
    return h("pre", { class: "tool-text", text: json(block) });
  });
}

function status(call, result, approval, decision) {
  if (approval) return ["waiting for you", "waiting"];
  if (result) {
    return result.is_error
      ? [`failed${result.duration_ms ? ` · ${duration(result.duration_ms)}` : ""}`, "error"]
      : [`done · ${duration(result.duration_ms)}`, "ok"];
  }
  if (decision && decision.decision === "deny") return ["denied", "error"];
  return ["running…", "running"];
}

/** <details> for one call; `ctx` = {thread, running, onApproval}. */
export function toolCallView(call, ctx) {
  const result = ctx.thread.results.get(call.id);
  const approval = ctx.thread.approvals.get(call.id);
  const decision = ctx.thread.decisions.get(call.id);
  const [label, kind] = result || ctx.running || approval ? status(call, result, approval, decision)
    : ["no result", "error"];
  const details = h("details", { class: `tool-call ${kind}`, dataset: { callId: call.id } },
    h("summary", {},
      h("span", { class: "tool-name", text: call.name }),
      h("span", { class: "tool-status", text: label })),
    h("div", { class: "tool-section" },
      h("div", { class: "tool-label", text: "Arguments" }),
      h("pre", { class: "tool-args", text: json(call.arguments) })),
    decision ? h("p", { class: "tool-decision",
      text: `${decision.decision === "allow" ? "Allowed" : "Denied"} ${DECIDED_BY[decision.by] || ""}.` }) : null,
    approval ? approvalCard(approval, ctx.onApproval) : null,
    result ? h("div", { class: `tool-section result ${result.is_error ? "is-error" : ""}` },
      h("div", { class: "tool-label", text: result.is_error ? "Error" : "Result" }),
      resultContent(result)) : null);
  if (approval) details.open = true;
  return details;
}
