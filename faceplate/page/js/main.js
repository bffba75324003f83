// The page: read its config, sign in, then route #/c/<id>, #/new, #/servers and #/usage.

import { Api } from "./api.js";
import { h, mount } from "./dom.js";
import { signIn, signOut } from "./signin.js";
import { ChatView } from "./views/chat.js";
import { ServersView } from "./views/servers.js";
import { Sidebar } from "./views/sidebar.js";
import { UsageView } from "./views/usage.js";

class App {
  constructor(session, features, main, side) {
    this.session = session;
    this.api = new Api(session);
    this.features = features;
    this.models = features.models;
    this.main = main;
    this.sidebar = new Sidebar(this, side);
    this.view = null;
    this.pendingMessage = null;
    this.toasts = h("div", { class: "toasts", role: "status" });
    document.body.append(this.toasts);
  }

  start() {
    this.sidebar.mount();
    this.sidebar.load();
    window.addEventListener("hashchange", () => this.route());
    this.route();
  }

  current() {
    const match = location.hash.match(/^#\/c\/([0-9a-f-]+)/i);
    return match ? match[1] : null;
  }

  navigate(hash) {
    if (location.hash === hash) this.route();
    else location.hash = hash;
  }

  /** The list changed; `updated` (a conversation object) redraws its chat header too. */
  conversationsChanged(updated = null) {
    this.sidebar.load();
    if (updated && this.view && this.view.conversation && this.view.conversation.id === updated.id) {
      this.view.updated(updated);
    }
  }

  notify(text) {
    const toast = h("p", { class: "toast", text });
    this.toasts.append(toast);
    setTimeout(() => toast.remove(), 6000);
  }

  signOut() {
    signOut(this.session);
  }

  async route() {
    if (this.view) this.view.close();
    this.view = null;
    const [path, query = ""] = location.hash.slice(1).split("?");
    const params = new URLSearchParams(query || location.search);
    const id = this.current();
    if (path === "/servers") {
      this.view = new ServersView(this, this.main);
      await this.view.open(params);
    } else if (path === "/usage" && this.features.usage) {
      this.view = new UsageView(this, this.main);
      await this.view.open();
    } else {
      const chat = new ChatView(this, this.main);
      this.view = chat;
      if (id && this.pendingMessage) {
        chat.sendPending(this.pendingMessage);
        this.pendingMessage = null;
      }
      await chat.open(id);
    }
    this.sidebar.render();
    document.body.dataset.view = path || "/new";
  }
}

/** What this server offers beyond the core: routes that may not be there yet answer 404. */
async function features(api) {
  const [models, usage] = await Promise.all([
    api.models().catch(() => null),
    api.optional("/v1/me/usage").catch(() => null),
  ]);
  return { models: models ? models.models : null, usage: Boolean(usage) };
}

/** Back from an MCP server's authorization (?config_id=…&status=…): show the servers page. */
function oauthReturn() {
  const params = new URLSearchParams(location.search);
  if (!params.has("config_id") || !params.has("status")) return;
  history.replaceState(null, "", `/#/servers?status=${encodeURIComponent(params.get("status"))}`);
}

async function boot() {
  const main = document.getElementById("main");
  const side = document.getElementById("sidebar");
  let config;
  try {
    const response = await fetch("/page/config", { cache: "no-store" });
    config = await response.json();
  } catch (err) {
    mount(main, h("p", { class: "notice error", text: "The service cannot be reached. Reload to try again." }));
    return;
  }
  oauthReturn();
  const session = await signIn(config, main);
  if (!session) return;
  const api = new Api(session);
  try {
    await api.me();
  } catch (err) {
    mount(main, h("section", { class: "signin" },
      h("p", { class: "notice error", text: `Signing in failed: ${err.message}` }),
      h("button", { class: "primary", text: "Sign in again", onclick: () => {
        sessionStorage.clear();
        location.reload();
      } })));
    return;
  }
  const app = new App(session, await features(api), main, side);
  window.faceplate = app; // for the console
  app.start();
}

boot();
