// The REST side of the contract: bearer token, JSON in and out, the error body as ApiError.

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

const PAGE = 100;

export class Api {
  /** `session` gives `token()` and `refresh()` (a new token after a 401). */
  constructor(session) {
    this.session = session;
  }

  async request(method, path, body = undefined, retried = false) {
    const headers = { Authorization: `Bearer ${this.session.token()}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (err) {
      throw new ApiError(0, "network", "the service cannot be reached");
    }
    if (response.status === 401 && !retried && (await this.session.refresh())) {
      return this.request(method, path, body, true);
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      const error = (data && data.error) || {};
      const retry = Number(response.headers.get("Retry-After")) || null;
      throw new ApiError(response.status, error.code || "error", error.message || text, retry);
    }
    return data;
  }

  /** Every item of a keyset-paged list, following next_cursor. */
  async all(path) {
    const items = [];
    let cursor = null;
    do {
      const sep = path.includes("?") ? "&" : "?";
      const url = `${path}${sep}limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const page = await this.request("GET", url);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return items;
  }

  /** The result of a GET, or null when the route does not exist (a feature not there yet). */
  async optional(path) {
    try {
      return await this.request("GET", path);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return null;
      throw err;
    }
  }

  me() { return this.request("GET", "/v1/me"); }

  conversations({ q = "", archived = false, cursor = null } = {}) {
    const params = new URLSearchParams({ limit: "50" });
    if (q) params.set("q", q);
    if (archived) params.set("archived", "true");
    if (cursor) params.set("cursor", cursor);
    return this.request("GET", `/v1/conversations?${params}`);
  }

  createConversation(body) { return this.request("POST", "/v1/conversations", body); }
  conversation(id) { return this.request("GET", `/v1/conversations/${id}`); }
  patchConversation(id, body) { return this.request("PATCH", `/v1/conversations/${id}`, body); }
  deleteConversation(id) { return this.request("DELETE", `/v1/conversations/${id}`); }
  messages(id) { return this.all(`/v1/conversations/${id}/messages`); }
  setActive(id, messageId) {
    return this.request("PUT", `/v1/conversations/${id}/active`, { message_id: messageId });
  }
  models() { return this.optional("/v1/models"); }
  usage(from, to) { return this.optional(`/v1/me/usage?from=${from}&to=${to}`); }

  configs() { return this.all("/v1/mcp-configs"); }
  createConfig(body) { return this.request("POST", "/v1/mcp-configs", body); }
  patchConfig(id, body) { return this.request("PATCH", `/v1/mcp-configs/${id}`, body); }
  deleteConfig(id) { return this.request("DELETE", `/v1/mcp-configs/${id}`); }
  tools(id) { return this.request("GET", `/v1/mcp-configs/${id}/tools`); }
  connect(id) { return this.request("POST", `/v1/mcp-configs/${id}/oauth`); }
  disconnect(id) { return this.request("DELETE", `/v1/mcp-configs/${id}/oauth`); }
}
