// What codes of the contract mean, in words a person reads.

const FINISH = {
  stop: "",
  tool_calls: "",
  length: "Cut off: the answer reached the model's length limit.",
  cancelled: "Stopped.",
  error: "The answer failed.",
  interrupted: "Interrupted: the server stopped while this was being written.",
};

/** A sentence for an assistant message's finish_reason; "" for a normal end. */
export function finishWords(reason) {
  if (reason === null || reason === undefined) return "";
  return reason in FINISH ? FINISH[reason] : `Ended: ${reason}.`;
}

const ERROR_CODES = {
  upstream_error: "The model or a tool server failed",
  unavailable: "The service is unavailable right now",
  internal_error: "Something went wrong on the server",
  interrupted: "The server stopped while answering",
  rate_limited: "Too many requests: wait a moment",
  turn_in_progress: "An answer is still being written",
  invalid_frame: "The server did not understand the request",
  not_pending: "That question was already answered",
  not_found: "Not found",
  conflict: "Conflict",
  validation_error: "Not valid",
  unauthorized: "Not signed in",
  authorization_required: "The server needs you to connect it first",
  payload_too_large: "Too large",
};

/** "<meaning>: <server's message>" for an error code and message. */
export function errorWords(code, message) {
  const meaning = ERROR_CODES[code] || code || "Error";
  if (!message || message.toLowerCase() === meaning.toLowerCase()) return `${meaning}.`;
  return `${meaning}: ${message}`;
}

/** What a turn_end says when it is not a plain completion; "" when it is. */
export function turnEndWords(frame) {
  if (frame.status === "completed") return "";
  if (frame.status === "cancelled") return "Stopped.";
  const error = frame.error || {};
  return `Failed. ${errorWords(error.code, error.message)}`;
}

const CLOSE = {
  1000: "closed",
  1001: "the server went away",
  1006: "the connection was lost",
  1009: "a message was too large",
  1011: "the server failed",
  1012: "the server is restarting",
  1013: "this page fell behind",
  4401: "the sign-in expired",
  4404: "this conversation no longer exists",
  4408: "signing in took too long",
  4409: "this email belongs to another account",
  4429: "too many open tabs or windows for this account",
};

/** Why a socket closed, in words. */
export function closeWords(code) {
  return CLOSE[code] || `connection closed (${code})`;
}

/** "1.2 s" or "85 ms". */
export function duration(ms) {
  if (ms === null || ms === undefined) return "";
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}
