// The REST client: bearer token from the session, problem+json errors, Idempotency-Key on creates.

const TOKEN_KEY = "atelier.token";
const USER_KEY = "atelier.user";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
  get fieldErrors() {
    return (this.problem.errors || []).map((e) => `${e.field ? e.field + ": " : ""}${e.message}`);
  }
}

export const session = {
  get token() {
    const token = localStorage.getItem(TOKEN_KEY);
    if (!token) return null;
    try {
      const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      if (claims.exp && claims.exp * 1000 < Date.now()) { this.clear(); return null; }
    } catch { this.clear(); return null; }
    return token;
  },
  get user() {
    try { return this.token ? JSON.parse(localStorage.getItem(USER_KEY)) : null; } catch { return null; }
  },
  save(token, user) {
    localStorage.setItem(TOKEN_KEY, token);
    localStorage.setItem(USER_KEY, JSON.stringify(user));
  },
  clear() {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(USER_KEY);
  },
};

export function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

export async function request(method, path, { json, body, contentType, idempotent = false, raw = false } = {}) {
  const headers = { Accept: "application/json" };
  const token = session.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  if (contentType) headers["Content-Type"] = contentType;
  if (idempotent) headers["Idempotency-Key"] = typeof idempotent === "string" ? idempotent : newKey();
  const resp = await fetch(path, { method, headers, body });
  if (raw && resp.ok) return resp;
  if (resp.status === 204) return null;
  const type = resp.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await resp.json().catch(() => null) : null;
  if (!resp.ok) {
    if (resp.status === 401 && token) session.clear();
    throw new ApiError(resp.status, data);
  }
  return data;
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, json, opts = {}) => request("POST", path, { json, idempotent: true, ...opts }),
  put: (path, json) => request("PUT", path, { json }),
  patch: (path, json) => request("PATCH", path, { json }),
  del: (path) => request("DELETE", path),
};

// True when a route's backend is not deployed yet (so pages can say so instead of failing).
export function isMissing(err) {
  return err instanceof ApiError && (err.status === 404 || err.status === 405 || err.status === 503) &&
    (!err.problem.detail || /not found|not reachable|unavailable|method/i.test(err.problem.detail || err.problem.title));
}
