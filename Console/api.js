// ImageGate console: the management API (/api/v1) with the session cookie and CSRF token.

let csrf = null;
let onUnauthorized = () => {};

export class APIError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

export function setUnauthorizedHandler(f) { onUnauthorized = f; }
export function csrfToken() { return csrf; }

/** Calls the API; resolves to the JSON answer (or the Response when `raw`), throws APIError. */
export async function api(method, path, body, { raw = false, quiet401 = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (csrf && method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrf;
  let r;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin", cache: "no-store" });
  } catch (e) {
    throw new APIError(0, "network", e.message);
  }
  if (r.status === 401 && !quiet401) { csrf = null; onUnauthorized(); }
  if (raw && r.ok) return r;
  const js = await r.json().catch(() => null);
  if (!r.ok) {
    const e = js && js.error ? js.error : { code: String(r.status), message: r.statusText };
    throw new APIError(r.status, e.code, e.message);
  }
  return js;
}

export async function currentSession() {
  try {
    const s = await api("GET", "/api/v1/session", undefined, { quiet401: true });
    csrf = s.csrf_token;
    return s;
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

export async function signIn(apiKey) {
  const s = await api("POST", "/api/v1/session", { api_key: apiKey }, { quiet401: true });
  csrf = s.csrf_token;
  return s;
}

export async function signOut() {
  try { await api("DELETE", "/api/v1/session", undefined, { quiet401: true }); } finally { csrf = null; }
}

/** "a=1&b=2" from an object, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v != null) q.set(k, v);
  const s = q.toString();
  return s ? "?" + s : "";
}
