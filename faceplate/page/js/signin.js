// Signing in, by the mode the service runs in (GET /page/config): dev mints a token by
// itself; cognito goes through the Hosted UI; either can fall back to a pasted token.

import { h, mount } from "./dom.js";
import { beginSignIn, cognitoSession, completeSignIn } from "./cognito.js";
import { DEFAULT_EMAIL, devSignIn, pastedSession, rememberEmail, rememberedEmail } from "./devauth.js";
import { Session } from "./session.js";

/** A Session, or null while the browser is on its way to the Hosted UI. */
export async function signIn(config, root) {
  if (config.auth === "dev") {
    try {
      const { provider, token } = await devSignIn();
      return new Session(provider, token);
    } catch (err) {
      return pasteToken(root, `Dev sign-in failed: ${err.message}`);
    }
  }
  const cognito = config.cognito;
  const params = new URLSearchParams(location.search);
  if (cognito && params.has("state") && (params.has("code") || params.has("error"))) {
    try {
      const hash = await completeSignIn(cognito, params);
      history.replaceState(null, "", `/${hash}`);
    } catch (err) {
      history.replaceState(null, "", "/");
      return signInScreen(root, cognito, `Sign-in failed: ${err.message}`);
    }
  }
  const held = cognito ? cognitoSession(cognito) : null;
  if (held) return new Session(held.provider, held.token);
  const pasted = sessionStorage.getItem("faceplate.pasted_token");
  if (pasted) {
    const { provider, token } = pastedSession(pasted);
    return new Session(provider, token);
  }
  if (!cognito) return pasteToken(root, "Sign-in through the Hosted UI is not configured (FACEPLATE_COGNITO_DOMAIN).");
  return signInScreen(root, cognito, "");
}

function signInScreen(root, cognito, message) {
  return new Promise(() => {
    mount(root, h("section", { class: "signin" },
      h("h1", { text: "Faceplate" }),
      message ? h("p", { class: "notice error", text: message }) : null,
      h("button", { class: "primary", text: "Sign in", onclick: () => beginSignIn(cognito) })));
  });
}

/** A form for a bearer token made elsewhere; resolves with its Session. */
export function pasteToken(root, message) {
  return new Promise((resolve) => {
    const input = h("textarea", { rows: "4", "aria-label": "Token", placeholder: "eyJ…" });
    const form = h("form", { class: "signin" },
      h("h1", { text: "Faceplate" }),
      h("p", { class: "notice error", text: message }),
      h("label", { class: "field" }, h("span", { text: "Paste a bearer token" }), input),
      h("button", { class: "primary", type: "submit", text: "Use token" }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const { provider, token } = pastedSession(input.value.trim());
      resolve(new Session(provider, token));
    });
    mount(root, form);
  });
}

/** Dev: ask for another email and sign in again. Cognito: sign out at the Hosted UI. */
export function signOut(session) {
  if (session.kind === "dev") {
    const email = window.prompt("Sign in as (email):", rememberedEmail() || DEFAULT_EMAIL);
    if (!email) return;
    rememberEmail(email.trim());
    location.reload();
    return;
  }
  session.signOut(); // cognito: off to the Hosted UI's logout
  if (session.kind !== "cognito") location.reload();
}
