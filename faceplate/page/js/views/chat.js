// One conversation: its thread, the composer (send / stop), the model picker, the socket.

import { h, perFrame } from "../dom.js";
import { ConversationSocket } from "../socket.js";
import { Thread } from "../thread.js";
import { closeWords, errorWords } from "../words.js";
import { ThreadView } from "./thread.js";

export class ChatView {
  /** app = {api, session, models, navigate(hash), conversationsChanged(), notify(text)}. */
  constructor(app, root) {
    this.app = app;
    this.root = root;
    this.thread = new Thread();
    this.socket = null;
    this.conversation = null;
    this.syncing = false;
    this.buffer = [];
    this.pending = null; // a first message to send once the socket is ready
    this.list = h("div", { class: "thread", "aria-live": "polite" });
    this.view = new ThreadView(this.list, {
      onEdit: (m, text) => this._send({ type: "user_message", content: text, parent_id: m.parent_id }),
      onRegenerate: (m) => this._regenerate(m),
      onBranch: (id) => this._branch(id),
      onApproval: (id, decision, remember) =>
        this._send({ type: "approval", tool_call_id: id, decision, remember }),
      onElicitation: (id, action, content) => this._send(
        content === undefined ? { type: "elicitation_response", elicitation_id: id, action }
          : { type: "elicitation_response", elicitation_id: id, action, content }),
      onConnect: (id) => this._connect(id),
    });
    this.draw = perFrame(() => this._draw());
  }

  /** Show conversation `id` (null: a new chat, made when the first message is sent). */
  async open(id) {
    this.title = h("h1", { class: "chat-title", text: id ? "…" : "New chat" });
    this.picker = this._modelPicker();
    this.status = h("p", { class: "status", role: "status" });
    this.input = h("textarea", { class: "composer-input", rows: "2", placeholder: "Message",
      "aria-label": "Message", onkeydown: (e) => this._key(e) });
    this.sendButton = h("button", { class: "primary send", type: "submit", text: "Send" });
    this.stopButton = h("button", { class: "stop", type: "button", text: "Stop", hidden: true,
      onclick: () => this._send({ type: "cancel" }) });
    const composer = h("form", { class: "composer", onsubmit: (e) => this._submit(e) },
      this.input, h("div", { class: "composer-actions" }, this.stopButton, this.sendButton));
    this.root.replaceChildren(
      h("header", { class: "chat-header" }, this.title, this.picker),
      h("div", { class: "scroller" }, this.list),
      h("div", { class: "composer-wrap" }, this.status, composer));
    this.view.reset();
    if (!id) {
      this._buttons();
      this.input.focus();
      return;
    }
    try {
      this.conversation = await this.app.api.conversation(id);
    } catch (err) {
      this.list.replaceChildren(h("p", { class: "notice error", text: errorWords(err.code, err.message) }));
      this.sendButton.disabled = true;
      return;
    }
    this._header();
    this.socket = new ConversationSocket({
      conversationId: id,
      session: this.app.session,
      onReady: (frame) => this._ready(frame),
      onFrame: (frame) => this._frame(frame),
      onState: (state) => this._state(state),
    }).start();
    this.input.focus();
  }

  close() {
    if (this.socket) this.socket.stop();
    this.socket = null;
  }

  /** The conversation changed elsewhere on the page (renamed). */
  updated(conversation) {
    this.conversation = conversation;
    this._header();
  }

  _header() {
    this.title.textContent = this.conversation.title || "New chat";
    if (this.picker && this.app.models) this.picker.value = this.conversation.model || "";
  }

  _modelPicker() {
    const models = this.app.models;
    if (!models || !models.length) return null;
    const byDefault = models.find((m) => m.default);
    const select = h("select", { class: "model-picker", "aria-label": "Model",
      onchange: () => this._setModel(select.value) },
    h("option", { value: "", text: `Default${byDefault ? ` (${byDefault.id})` : ""}` }),
    models.map((m) => h("option", { value: m.id, text: m.id })));
    return select;
  }

  async _setModel(model) {
    if (!this.conversation) return; // a new chat sends it on creation
    try {
      this.conversation = await this.app.api.patchConversation(this.conversation.id, { model: model || null });
    } catch (err) {
      this.app.notify(errorWords(err.code, err.message));
    }
  }

  async _ready(frame) {
    // Frames that follow `ready` wait until the stored messages are in: they apply on top.
    const attempt = (this.readyCount = (this.readyCount || 0) + 1);
    this.syncing = true;
    this.buffer = [];
    let messages;
    try {
      messages = await this.app.api.messages(this.conversation.id);
    } catch (err) {
      if (attempt !== this.readyCount) return;
      this.syncing = false;
      this.thread.note(errorWords(err.code, err.message), "error");
      this.draw();
      return;
    }
    if (attempt !== this.readyCount) return; // a newer connection is catching up instead
    this.thread.load(messages);
    this.thread.applyReady(frame);
    for (const f of this.buffer) this.thread.apply(f);
    this.buffer = [];
    this.syncing = false;
    this.draw();
    if (this.pending && !this.thread.running) {
      const content = this.pending;
      this.pending = null;
      this._send({ type: "user_message", content });
    }
  }

  _frame(frame) {
    if (this.syncing) {
      this.buffer.push(frame);
      return;
    }
    this.thread.apply(frame);
    this.draw();
    if (frame.type === "turn_end") this._turnEnded();
  }

  async _turnEnded() {
    // The stored branch now holds what streamed, with its siblings and model: draw from it.
    this.app.conversationsChanged();
    try {
      const [conversation, messages] = await Promise.all([
        this.app.api.conversation(this.conversation.id),
        this.app.api.messages(this.conversation.id),
      ]);
      // Only a newer read replaces what the view holds (every stored message moves
      // updated_at): a rename or model change answered meanwhile is kept.
      if (!this.conversation || conversation.updated_at > this.conversation.updated_at) {
        this.conversation = conversation;
        this._header();
      }
      if (!this.thread.running && !this.syncing) {
        this.thread.load(messages);
        this.draw();
      }
    } catch (err) {
      console.warn("reload after turn", err);
    }
  }

  _state({ state, code, retryInMs }) {
    let text = "";
    if (state === "connecting") text = "Connecting…";
    else if (state === "retrying") text = `Reconnecting in ${Math.ceil(retryInMs / 1000)} s: ${closeWords(code)}.`;
    else if (state === "closed") text = `Disconnected: ${closeWords(code)}.`;
    this.status.textContent = text;
    this.status.dataset.state = state;
    if (state === "closed" && code === 4404) this.app.conversationsChanged();
    this._buttons();
  }

  _draw() {
    this.view.render(this.thread);
    this._buttons();
  }

  _buttons() {
    const running = this.thread.running;
    const connected = !this.socket || this.socket.ready;
    this.stopButton.hidden = !running;
    this.sendButton.hidden = running;
    this.sendButton.disabled = !connected;
    this.root.dataset.running = running ? "true" : "false";
  }

  _key(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this._submit(event);
    }
  }

  async _submit(event) {
    event.preventDefault();
    const content = this.input.value;
    if (!content.trim() || this.thread.running) return;
    if (!this.conversation) {
      // A new chat: make the conversation, then send once its socket is ready.
      this.sendButton.disabled = true;
      const body = this.picker && this.picker.value ? { model: this.picker.value } : {};
      try {
        const conversation = await this.app.api.createConversation(body);
        this.input.value = "";
        this.app.pendingMessage = content;
        this.app.conversationsChanged();
        this.app.navigate(`#/c/${conversation.id}`);
      } catch (err) {
        this.sendButton.disabled = false;
        this.app.notify(errorWords(err.code, err.message));
      }
      return;
    }
    if (this._send({ type: "user_message", content })) this.input.value = "";
  }

  _send(frame) {
    if (!this.socket || !this.socket.send(frame)) {
      this.thread.note("Not connected: try again in a moment.", "error");
      this.draw();
      return false;
    }
    return true;
  }

  _regenerate(message) {
    const at = this.thread.messages.indexOf(message);
    const answered = this.thread.messages.slice(0, at + 1).reverse().find((m) => m.role === "user");
    if (this._send({ type: "regenerate", message_id: message.id }) && answered) {
      this.thread.branchFrom = answered.id;
    }
  }

  async _branch(messageId) {
    try {
      await this.app.api.setActive(this.conversation.id, messageId);
      this.thread.load(await this.app.api.messages(this.conversation.id));
      this.draw();
    } catch (err) {
      const text = err.status === 409 ? "Wait for the answer to finish, then switch branches."
        : errorWords(err.code, err.message);
      this.thread.note(text, "error");
      this.draw();
    }
  }

  async _connect(configId) {
    try {
      const { authorization_url: url } = await this.app.api.connect(configId);
      window.open(url, "_blank", "noopener");
    } catch (err) {
      this.thread.note(errorWords(err.code, err.message), "error");
      this.draw();
    }
  }

  sendPending(content) {
    this.pending = content;
  }
}
