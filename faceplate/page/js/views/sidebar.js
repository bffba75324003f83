// The conversation list: search, the archived ones, rename, archive, delete, new chat.

import { h, when } from "../dom.js";
import { errorWords } from "../words.js";

export class Sidebar {
  /** app = {api, session, features, navigate, notify, current()}. */
  constructor(app, root) {
    this.app = app;
    this.root = root;
    this.query = "";
    this.archived = false;
    this.items = [];
    this.cursor = null;
    this.searchTimer = null;
    this.supportsArchive = false;
    this.list = h("ul", { class: "conversations", "aria-label": "Conversations" });
    this.more = h("button", { class: "link more", hidden: true, text: "More",
      onclick: () => this.load(true) });
    this.search = h("input", { type: "search", class: "search", placeholder: "Search",
      "aria-label": "Search conversations", oninput: () => this._searchSoon() });
    this.archiveToggle = h("button", { class: "link archive-toggle", hidden: true,
      onclick: () => this._toggleArchived(), text: "Archived" });
  }

  mount() {
    const nav = [
      h("a", { href: "#/new", class: "new-chat button primary", text: "New chat" }),
      this.search,
      this.list,
      this.more,
      this.archiveToggle,
      h("nav", { class: "side-nav" },
        h("a", { href: "#/servers", text: "MCP servers" }),
        this.app.features.usage ? h("a", { href: "#/usage", text: "Usage" }) : null),
      this._who(),
    ];
    this.root.replaceChildren(h("div", { class: "brand", text: "Faceplate" }), ...nav);
  }

  _who() {
    const session = this.app.session;
    const label = session.email || "signed in with a token";
    return h("div", { class: "who" },
      h("span", { class: "email", title: label, text: label }),
      h("button", { class: "link", text: session.kind === "dev" ? "Switch" : "Sign out",
        onclick: () => this.app.signOut() }));
  }

  _searchSoon() {
    clearTimeout(this.searchTimer);
    this.searchTimer = setTimeout(() => {
      this.query = this.search.value.trim();
      this.load();
    }, 250);
  }

  _toggleArchived() {
    this.archived = !this.archived;
    this.archiveToggle.textContent = this.archived ? "Back to conversations" : "Archived";
    this.load();
  }

  /** (Re)load the first page, or the next one with `more`. */
  async load(more = false) {
    // Only the latest load is drawn: an earlier one answered late holds an older list.
    const mine = (this.loads = (this.loads || 0) + 1);
    let page;
    try {
      page = await this.app.api.conversations({
        q: this.query, archived: this.archived, cursor: more ? this.cursor : null,
      });
    } catch (err) {
      if (mine === this.loads) this.app.notify(errorWords(err.code, err.message));
      return;
    }
    if (mine !== this.loads) return;
    this.items = more ? [...this.items, ...page.items] : page.items;
    this.cursor = page.next_cursor;
    if (this.items.some((c) => "archived" in c)) this.supportsArchive = true;
    this.archiveToggle.hidden = !this.supportsArchive;
    this.more.hidden = !this.cursor;
    this.render();
  }

  render() {
    const current = this.app.current();
    // A server without search ignores ?q=: filter titles here so the box still narrows.
    const q = this.query.toLowerCase();
    const shown = this.supportsArchive || !q ? this.items
      : this.items.filter((c) => (c.title || "").toLowerCase().includes(q));
    this.list.replaceChildren(...shown.map((c) => this._item(c, c.id === current)));
    if (!shown.length) {
      this.list.append(h("li", { class: "empty", text: this.query ? "Nothing found." :
        this.archived ? "No archived conversations." : "No conversations yet." }));
    }
  }

  _item(conversation, selected) {
    const title = conversation.title || "Untitled";
    const link = h("a", { href: `#/c/${conversation.id}`, class: "conversation-link" },
      h("span", { class: "title", text: title }),
      conversation.snippet ? h("span", { class: "snippet", text: conversation.snippet }) : null,
      h("span", { class: "when", text: when(conversation.updated_at) }));
    const actions = h("span", { class: "item-actions" },
      h("button", { class: "icon", title: "Rename", text: "✎", onclick: () => this._rename(item, conversation) }),
      this.supportsArchive ? h("button", { class: "icon", title: conversation.archived ? "Unarchive" : "Archive",
        text: conversation.archived ? "⇡" : "⇣", onclick: () => this._archive(conversation) }) : null,
      h("button", { class: "icon", title: "Delete", text: "✕", onclick: () => this._delete(conversation) }));
    const item = h("li", { class: `conversation${selected ? " selected" : ""}`,
      dataset: { id: conversation.id } }, link, actions);
    return item;
  }

  _rename(item, conversation) {
    const input = h("input", { class: "rename", "aria-label": "New title", value: conversation.title || "" });
    const save = async () => {
      const title = input.value.trim() || null;
      try {
        this.app.conversationsChanged(await this.app.api.patchConversation(conversation.id, { title }));
      } catch (err) {
        this.app.notify(errorWords(err.code, err.message));
        this.render();
      }
    };
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") save();
      if (e.key === "Escape") this.render();
    });
    input.addEventListener("blur", () => this.render());
    item.replaceChildren(input);
    input.focus();
    input.select();
  }

  async _archive(conversation) {
    try {
      await this.app.api.patchConversation(conversation.id, { archived: !conversation.archived });
      if (this.app.current() === conversation.id && !conversation.archived) this.app.navigate("#/new");
      this.app.conversationsChanged();
    } catch (err) {
      this.app.notify(errorWords(err.code, err.message));
    }
  }

  async _delete(conversation) {
    if (!window.confirm(`Delete "${conversation.title || "Untitled"}" and its messages?`)) return;
    try {
      await this.app.api.deleteConversation(conversation.id);
      if (this.app.current() === conversation.id) this.app.navigate("#/new");
      this.app.conversationsChanged();
    } catch (err) {
      this.app.notify(errorWords(err.code, err.message));
    }
  }
}
