// One conversation's WebSocket: `auth` first, frames checked for order (seq), the token
// replaced on the open socket when it is refreshed, and reconnects with backoff.

const PING_MS = 25000;
const SILENT_MS = 60000; // nothing received for this long (pings included): the link is dead
const MAX_BACKOFF_MS = 15000;
const AUTH_ECHO_MS = 5000;

export class ConversationSocket {
  /**
   * Callbacks: onReady(readyFrame) after each (re)connection, onFrame(frame) for every frame
   * in order (the catch-up text_delta after `ready` has `catchUp: true`), onState({state,
   * code, retryInMs}) for the status line; state is connecting, open, retrying or closed.
   */
  constructor({ conversationId, session, onReady, onFrame, onState }) {
    this.conversationId = conversationId;
    this.session = session;
    this.onReady = onReady;
    this.onFrame = onFrame;
    this.onState = onState;
    this.ws = null;
    this.ready = false;
    this.stopped = false;
    this.attempts = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.lastHeard = 0;
    this.authSentAt = 0;
    this.turnId = null;
    this.lastSeq = 0;
    this.turnOpen = false;
    this.catchUp = false;
    this.unsubscribe = session.onToken((token) => this._reauth(token));
    this._online = () => { if (this.retryTimer) this._retryNow(); };
    window.addEventListener("online", this._online);
  }

  start() {
    this._connect();
    return this;
  }

  /** Send a frame; false when the socket is not ready. */
  send(frame) {
    if (!this.ready || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  stop() {
    this.stopped = true;
    this.unsubscribe();
    window.removeEventListener("online", this._online);
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    if (this.ws) this.ws.close(1000, "page closed");
  }

  _connect() {
    this.retryTimer = null;
    this.ready = false;
    this.onState({ state: "connecting" });
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/v1/conversations/${this.conversationId}/ws`);
    this.ws = ws;
    ws.onopen = () => {
      this.lastHeard = Date.now();
      ws.send(JSON.stringify({ type: "auth", token: this.session.token() }));
    };
    ws.onmessage = (event) => {
      if (ws !== this.ws) return;
      this.lastHeard = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      this._receive(frame);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      clearInterval(this.pingTimer);
      this.ready = false;
      if (!this.stopped) this._closed(event.code);
    };
  }

  _receive(frame) {
    if (frame.type === "ready") {
      this.ready = true;
      this.attempts = 0;
      const turn = frame.turn;
      this.turnId = turn ? turn.turn_id : null;
      this.lastSeq = turn ? turn.seq : 0;
      this.turnOpen = Boolean(turn);
      this.catchUp = Boolean(turn && turn.message_id);
      this._startPings();
      this.onState({ state: "open" });
      this.onReady(frame);
      return;
    }
    if (frame.type === "pong") return;
    if (frame.type === "error" && frame.code === "invalid_frame"
        && Date.now() - this.authSentAt < AUTH_ECHO_MS) {
      // A server that takes no token on an open socket; it closes 4401 at expiry, and the
      // reconnect then uses the new token.
      this.authSentAt = 0;
      return;
    }
    if (typeof frame.seq !== "number") {
      this.onFrame(frame);
      return;
    }
    const catchUp = this.catchUp;
    this.catchUp = false;
    if (frame.type === "turn_start") {
      if (this.turnOpen && frame.turn_id !== this.turnId) {
        this._resync("a turn ended unseen");
        return;
      }
      this.turnId = frame.turn_id;
      this.lastSeq = frame.seq;
      this.turnOpen = true;
      this.onFrame(frame);
      return;
    }
    if (frame.turn_id !== this.turnId) {
      this._resync("a frame of an unknown turn");
      return;
    }
    if (catchUp && frame.type === "text_delta" && frame.seq === this.lastSeq) {
      this.onFrame({ ...frame, catchUp: true });
      return;
    }
    if (frame.seq <= this.lastSeq) return; // a duplicate
    if (frame.seq !== this.lastSeq + 1) {
      this._resync(`frames ${this.lastSeq + 1} to ${frame.seq - 1} missing`);
      return;
    }
    this.lastSeq = frame.seq;
    if (frame.type === "turn_end") this.turnOpen = false;
    this.onFrame(frame);
  }

  _startPings() {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastHeard > SILENT_MS) {
        this._resync("no answer to pings");
        return;
      }
      this.send({ type: "ping" });
    }, PING_MS);
  }

  _reauth(token) {
    if (this.send({ type: "auth", token })) this.authSentAt = Date.now();
  }

  /** Drop this connection and open a new one at once: `ready` and the messages catch up. */
  _resync(reason) {
    console.info("socket resync:", reason);
    const old = this.ws;
    this.ws = null;
    if (old) old.close(4000, "resync");
    this._connect();
  }

  async _closed(code) {
    if (code === 4404 || code === 4409) {
      this.onState({ state: "closed", code });
      return;
    }
    if (code === 4401 && !(await this.session.refresh())) {
      this.onState({ state: "closed", code });
      return;
    }
    let delay;
    if (code === 4401 || code === 1013) delay = 100;
    else if (code === 4429) delay = 30000;
    else delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempts) * (0.75 + Math.random() / 2);
    this.attempts += 1;
    this.onState({ state: "retrying", code, retryInMs: delay });
    this.retryTimer = setTimeout(() => this._connect(), delay);
  }

  _retryNow() {
    clearTimeout(this.retryTimer);
    this._connect();
  }
}
