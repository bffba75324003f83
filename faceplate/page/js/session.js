// The signed-in session: the current bearer token, refreshed before it expires.

const EARLY_S = 120; // refresh this long before `exp` (or at 80% of a shorter lifetime)

/** The `exp` claim of a JWT in ms since the epoch, or null. */
export function tokenExpiry(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(payload));
    return typeof claims.exp === "number" ? claims.exp * 1000 : null;
  } catch (err) {
    return null;
  }
}

export class Session {
  /**
   * `provider` = {kind, email, refresh(): Promise<string|null>, signOut()}; `token` the first.
   * `onToken(fn)` hears of each new token (the open socket sends it as an `auth` frame).
   */
  constructor(provider, token) {
    this.provider = provider;
    this.kind = provider.kind;
    this._token = token;
    this._listeners = new Set();
    this._refreshing = null;
    this._timer = null;
    this._schedule();
  }

  token() { return this._token; }
  get email() { return this.provider.email; }
  get canRefresh() { return typeof this.provider.refresh === "function"; }

  onToken(fn) {
    this._listeners.add(fn);
    return () => this._listeners.delete(fn);
  }

  /** A new token now (deduplicated); false when none can be had. */
  refresh() {
    if (!this.canRefresh) return Promise.resolve(false);
    if (!this._refreshing) {
      this._refreshing = this.provider.refresh()
        .then((token) => {
          if (!token) return false;
          this._token = token;
          this._schedule();
          for (const fn of this._listeners) fn(token);
          return true;
        })
        .catch((err) => {
          console.warn("token refresh failed", err);
          return false;
        })
        .finally(() => { this._refreshing = null; });
    }
    return this._refreshing;
  }

  signOut() {
    clearTimeout(this._timer);
    this.provider.signOut();
  }

  _schedule() {
    clearTimeout(this._timer);
    const exp = tokenExpiry(this._token);
    if (exp === null || !this.canRefresh) return;
    const left = exp - Date.now();
    const wait = Math.max(5000, Math.min(left - EARLY_S * 1000, left * 0.8));
    this._timer = setTimeout(() => this.refresh(), wait);
  }
}
