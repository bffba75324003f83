// What one conversation shows: its active branch, kept up to date by the socket's frames.
// Every change bumps the version of the message it touches, so the view redraws only those.

import { errorWords, turnEndWords } from "./words.js";

export const PROMPTS = "@prompts"; // the version key of the elicitations and notices

export class Thread {
  constructor() {
    this.messages = [];
    this.versions = new Map();
    this.results = new Map(); // tool_call_id → ToolResult
    this.owner = new Map(); // tool_call_id → id of the assistant message that made the call
    this.approvals = new Map(); // tool_call_id → approval_request frame still waiting
    this.decisions = new Map(); // tool_call_id → approval_result frame
    this.elicitations = new Map(); // elicitation_id → elicitation_request frame
    this.notices = []; // {kind: "error"|"connect"|"info", text, config_id, name}
    this.running = false;
    this.streamingId = null;
    this.branchFrom = null; // a regenerate from this page: its answer follows this message
    this.tick = 0;
  }

  version(id) { return this.versions.get(id) || 0; }

  bump(id) {
    this.tick += 1;
    this.versions.set(id, this.tick);
  }

  /** The stored active branch, as GET …/messages gives it. */
  load(messages) {
    this.messages = [];
    this.results.clear();
    this.owner.clear();
    for (const message of messages) this._index(message);
    this.messages = messages.slice();
    for (const message of messages) this.bump(message.id);
  }

  /** A (re)connection's `ready`: whether a turn runs, and what waits for the user. */
  applyReady(ready) {
    const turn = ready.turn;
    this.running = Boolean(turn);
    this.streamingId = turn ? turn.message_id : null;
    for (const id of [...this.approvals.keys(), ...this.decisions.keys()]) this._bumpCall(id);
    this.approvals.clear();
    this.elicitations.clear();
    for (const frame of (turn && turn.pending) || []) this.apply(frame);
    this.bump(PROMPTS);
  }

  find(id) { return this.messages.find((m) => m.id === id) || null; }

  apply(frame) {
    switch (frame.type) {
      case "message":
        this._upsert(frame.message);
        break;
      case "turn_start":
        this.running = true;
        this.notices = [];
        this.bump(PROMPTS);
        break;
      case "text_delta": {
        const message = this._streaming(frame.message_id);
        message.content = frame.catchUp ? frame.delta : message.content + frame.delta;
        this.bump(message.id);
        break;
      }
      case "tool_call": {
        const message = this._streaming(frame.message_id);
        const calls = message.tool_calls || [];
        if (!calls.some((c) => c.id === frame.tool_call.id)) {
          message.tool_calls = [...calls, frame.tool_call];
        }
        this.owner.set(frame.tool_call.id, message.id);
        this.bump(message.id);
        break;
      }
      case "tool_result":
        this.results.set(frame.tool_result.tool_call_id, frame.tool_result);
        this._bumpCall(frame.tool_result.tool_call_id);
        break;
      case "approval_request":
        this.approvals.set(frame.tool_call.id, frame);
        if (!this.owner.has(frame.tool_call.id)) this.bump(PROMPTS);
        this._bumpCall(frame.tool_call.id);
        break;
      case "approval_result":
        this.approvals.delete(frame.tool_call_id);
        this.decisions.set(frame.tool_call_id, frame);
        this._bumpCall(frame.tool_call_id);
        this.bump(PROMPTS);
        break;
      case "elicitation_request":
        this.elicitations.set(frame.elicitation_id, frame);
        this.bump(PROMPTS);
        break;
      case "elicitation_result":
        this.elicitations.delete(frame.elicitation_id);
        this.bump(PROMPTS);
        break;
      case "authorization_required":
        if (!this.notices.some((n) => n.kind === "connect" && n.config_id === frame.config_id)) {
          this.notices.push({ kind: "connect", config_id: frame.config_id, name: frame.name });
        }
        this.bump(PROMPTS);
        break;
      case "turn_end":
        this.running = false;
        if (this.streamingId) this.bump(this.streamingId);
        this.streamingId = null;
        this.branchFrom = null;
        for (const id of this.approvals.keys()) this._bumpCall(id);
        this.approvals.clear();
        this.elicitations.clear();
        if (frame.status === "failed") this.notices.push({ kind: "error", text: turnEndWords(frame) });
        this.bump(PROMPTS);
        break;
      case "error":
        if (frame.code !== "not_pending") {
          const wait = frame.retry_after_s ? ` Try again in ${frame.retry_after_s} s.` : "";
          this.notices.push({ kind: "error", text: errorWords(frame.code, frame.message) + wait });
          this.bump(PROMPTS);
        }
        break;
      default:
        break; // a frame this page does not know yet
    }
  }

  note(text, kind = "info") {
    this.notices.push({ kind, text });
    this.bump(PROMPTS);
  }

  dismiss(notice) {
    this.notices = this.notices.filter((n) => n !== notice);
    this.bump(PROMPTS);
  }

  _bumpCall(callId) {
    const owner = this.owner.get(callId);
    if (owner) this.bump(owner);
  }

  _index(message) {
    for (const call of message.tool_calls || []) this.owner.set(call.id, message.id);
    for (const result of message.tool_results || []) this.results.set(result.tool_call_id, result);
  }

  /** The assistant message a frame streams into, made when it is new. */
  _streaming(id) {
    this.streamingId = id;
    let message = this.find(id);
    if (!message) {
      message = {
        id, role: "assistant", content: "", tool_calls: null, tool_results: null,
        finish_reason: null, created_at: new Date().toISOString(),
      };
      if (this.branchFrom) this._cutAfter(this.branchFrom);
      this.messages.push(message);
    }
    return message;
  }

  _cutAfter(id) {
    const at = this.messages.findIndex((m) => m.id === id);
    if (at >= 0) this.messages.length = at + 1;
  }

  /** A stored message in its place: after its parent (a new branch cuts what followed). */
  _upsert(message) {
    this._index(message);
    const at = this.messages.findIndex((m) => m.id === message.id);
    const hasParent = Object.prototype.hasOwnProperty.call(message, "parent_id");
    if (at >= 0) {
      const before = at > 0 ? this.messages[at - 1].id : null;
      if (!hasParent || message.parent_id === before) {
        this.messages[at] = message;
        this.bump(message.id);
        this._finished(message);
        return;
      }
      this.messages.splice(at, 1);
    }
    if (hasParent && message.parent_id === null) this.messages = [];
    else if (hasParent) this._cutAfter(message.parent_id);
    this.messages.push(message);
    this.bump(message.id);
    this._finished(message);
  }

  _finished(message) {
    if (message.role === "assistant" && message.finish_reason && message.id === this.streamingId) {
      this.streamingId = null;
    }
  }
}
