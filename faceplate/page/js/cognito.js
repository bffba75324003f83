// Cognito mode: the Hosted UI's authorization-code flow with PKCE (S256). Tokens live in
// sessionStorage (this tab only); the ID token is the bearer token (it carries the email).

const TOKENS_KEY = "faceplate.cognito";
const FLOW_KEY = "faceplate.cognito_flow";

function b64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(bytes) {
  return b64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function challengeOf(verifier) {
  return b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
}

function redirectUri(config) {
  return config.redirect_uri || `${location.origin}/`;
}

/** Send the browser to the Hosted UI; it comes back to the page with ?code=…&state=…. */
export async function beginSignIn(config) {
  const verifier = randomString(48);
  const state = randomString(24);
  sessionStorage.setItem(FLOW_KEY, JSON.stringify({ verifier, state, hash: location.hash }));
  const params = new URLSearchParams({
    response_type: "code",
    client_id: config.client_id,
    redirect_uri: redirectUri(config),
    scope: "openid email",
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
  });
  location.assign(`${config.domain}/oauth2/authorize?${params}`);
}

async function tokenRequest(config, fields) {
  const response = await fetch(`${config.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: config.client_id, ...fields }),
    cache: "no-store",
    credentials: "omit",
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok || !data.id_token) {
    throw new Error(data.error_description || data.error || `token endpoint: HTTP ${response.status}`);
  }
  return data;
}

function store(tokens) {
  sessionStorage.setItem(TOKENS_KEY, JSON.stringify(tokens));
}

function stored() {
  try {
    return JSON.parse(sessionStorage.getItem(TOKENS_KEY) || "null");
  } catch (err) {
    return null;
  }
}

/** On the way back from the Hosted UI: trade the code for tokens; the hash it left from. */
export async function completeSignIn(config, params) {
  const flow = JSON.parse(sessionStorage.getItem(FLOW_KEY) || "null");
  sessionStorage.removeItem(FLOW_KEY);
  if (params.get("error")) throw new Error(params.get("error_description") || params.get("error"));
  if (!flow || flow.state !== params.get("state")) throw new Error("sign-in state does not match");
  const data = await tokenRequest(config, {
    grant_type: "authorization_code",
    code: params.get("code"),
    redirect_uri: redirectUri(config),
    code_verifier: flow.verifier,
  });
  store({ id_token: data.id_token, refresh_token: data.refresh_token || null });
  return flow.hash || "";
}

function emailOf(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)).email || null;
  } catch (err) {
    return null;
  }
}

/** {provider, token} from the tokens this tab holds, or null (then sign in). */
export function cognitoSession(config) {
  const tokens = stored();
  if (!tokens || !tokens.id_token) return null;
  const provider = {
    kind: "cognito",
    email: emailOf(tokens.id_token),
    refresh: async () => {
      const current = stored();
      if (!current || !current.refresh_token) return null;
      const data = await tokenRequest(config, {
        grant_type: "refresh_token",
        refresh_token: current.refresh_token,
      });
      store({ id_token: data.id_token, refresh_token: data.refresh_token || current.refresh_token });
      return data.id_token;
    },
    signOut: () => {
      sessionStorage.removeItem(TOKENS_KEY);
      const params = new URLSearchParams({
        client_id: config.client_id,
        logout_uri: redirectUri(config),
      });
      location.assign(`${config.domain}/logout?${params}`);
    },
  };
  return { provider, token: tokens.id_token };
}

export function forgetCognitoTokens() {
  sessionStorage.removeItem(TOKENS_KEY);
}
