// Building DOM nodes without HTML strings: text is always text.

/**
 * h("button", {class: "x", onclick: fn, title: "Stop"}, "Stop") → <button>.
 * Props: `class`, `text`, `dataset` (object), `on<event>` (function), `hidden`, `disabled`,
 * `value`, `checked`; anything else is set as an attribute. Children: nodes, strings, arrays,
 * and null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "hidden" || key === "disabled" || key === "checked") node[key] = true;
    else if (key === "value") node.value = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace every child of `node` with `children`. */
export function mount(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** A short local date and time for an RFC 3339 instant. */
export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const today = new Date();
  const sameDay = date.toDateString() === today.toDateString();
  return sameDay
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString([], { year: "numeric", month: "short", day: "numeric" });
}

/** `fn` called at most once per animation frame, with the latest arguments. */
export function perFrame(fn) {
  let queued = null;
  return (...args) => {
    const first = queued === null;
    queued = args;
    if (first) {
      requestAnimationFrame(() => {
        const latest = queued;
        queued = null;
        fn(...latest);
      });
    }
  };
}
