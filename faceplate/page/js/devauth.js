// Dev mode: the service mints a token for an email (POST /page/dev-token); the email is kept.

const EMAIL_KEY = "faceplate.email";
const PASTED_KEY = "faceplate.pasted_token";
const TTL_KEY = "faceplate.dev_ttl_s"; // a shorter token lifetime, to watch refreshes
export const DEFAULT_EMAIL = "you@example.com";

export function rememberedEmail() {
  return localStorage.getItem(EMAIL_KEY) || DEFAULT_EMAIL;
}

export function rememberEmail(email) {
  localStorage.setItem(EMAIL_KEY, email);
}

async function mint(email) {
  const ttl = Number(localStorage.getItem(TTL_KEY)) || null;
  const response = await fetch("/page/dev-token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(ttl ? { email, ttl_s: ttl } : { email }),
    cache: "no-store",
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const message = (data && data.error && data.error.message) || `HTTP ${response.status}`;
    throw new Error(message);
  }
  return data.token;
}

/** {provider, token} of a dev sign-in as the remembered email; throws when the route refuses. */
export async function devSignIn() {
  const pasted = sessionStorage.getItem(PASTED_KEY);
  if (pasted) return pastedSession(pasted);
  const email = rememberedEmail();
  const token = await mint(email);
  return {
    token,
    provider: {
      kind: "dev",
      email,
      refresh: () => mint(email),
      signOut: () => {},
    },
  };
}

/** A session on a token pasted by hand (from `faceplate token EMAIL`); it is not refreshed. */
export function pastedSession(token) {
  sessionStorage.setItem(PASTED_KEY, token);
  return {
    token,
    provider: {
      kind: "pasted",
      email: null,
      refresh: null,
      signOut: () => sessionStorage.removeItem(PASTED_KEY),
    },
  };
}
