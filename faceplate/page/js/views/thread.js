// The messages of a conversation, redrawn message by message as their versions change.

import { h } from "../dom.js";
import { PROMPTS } from "../thread.js";
import { messageView } from "./message.js";
import { connectCard, elicitationCard } from "./prompts.js";

export class ThreadView {
  /** handlers = {onEdit, onRegenerate, onBranch, onApproval, onElicitation, onConnect}. */
  constructor(container, handlers) {
    this.container = container;
    this.handlers = handlers;
    this.cache = new Map(); // id → {version, node}
  }

  reset() {
    this.cache.clear();
    this.container.replaceChildren();
  }

  render(thread) {
    const scroller = this.container.parentElement;
    const atBottom = !scroller || scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    const ctx = {
      thread,
      running: thread.running,
      ...this.handlers,
      canRegenerate: (m) => this._canRegenerate(thread, m),
    };
    const nodes = [];
    const seen = new Set();
    for (const message of thread.messages) {
      seen.add(message.id);
      const node = this._node(message.id, thread, () => messageView(message, ctx));
      if (node) nodes.push(node);
    }
    seen.add(PROMPTS);
    const prompts = this._node(PROMPTS, thread, () => this._prompts(thread));
    for (const id of this.cache.keys()) if (!seen.has(id)) this.cache.delete(id);
    const wanted = prompts ? [...nodes, prompts] : nodes;
    if (wanted.length !== this.container.childNodes.length
        || wanted.some((node, i) => this.container.childNodes[i] !== node)) {
      this.container.replaceChildren(...wanted);
    }
    if (atBottom && scroller) scroller.scrollTop = scroller.scrollHeight;
  }

  _node(id, thread, build) {
    const version = thread.version(id);
    const cached = this.cache.get(id);
    if (cached && cached.version === version && cached.running === thread.running) return cached.node;
    const node = build();
    this.cache.set(id, { version, node, running: thread.running });
    return node;
  }

  /** Regenerate sits on the last assistant message before the next user message. */
  _canRegenerate(thread, message) {
    if (!Array.isArray(message.sibling_ids)) return false;
    const at = thread.messages.indexOf(message);
    for (const next of thread.messages.slice(at + 1)) {
      if (next.role === "user") return true;
      if (next.role === "assistant") return false;
    }
    return true;
  }

  _prompts(thread) {
    const items = [
      ...[...thread.approvals.values()]
        .filter((f) => !thread.owner.has(f.tool_call.id))
        .map((f) => h("section", { class: "prompt" },
          h("p", { text: `${f.tool} is waiting for approval.` }))),
      ...[...thread.elicitations.values()].map((f) => elicitationCard(f, this.handlers.onElicitation)),
      ...thread.notices.map((n) => this._notice(thread, n)),
    ];
    return items.length ? h("div", { class: "prompts" }, items) : null;
  }

  _notice(thread, notice) {
    if (notice.kind === "connect") return connectCard(notice, this.handlers.onConnect);
    return h("p", { class: `notice ${notice.kind}`, role: notice.kind === "error" ? "alert" : "status" },
      notice.text,
      h("button", { class: "icon", title: "Dismiss", text: "×", onclick: () => {
        thread.dismiss(notice);
        this.render(thread);
      } }));
  }
}
