// The /v1 client: login, tokens (sessionStorage: gone when the tab closes), JSON calls,
// one automatic refresh on a 401, problem documents as ApiError, WebSockets with the token.

const KEY = "riskdesk.session";

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code || null;
    this.details = this.problem.details || null;
  }
}

export const session = {
  load() {
    try { return JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch { return null; }
  },
  save(value) { sessionStorage.setItem(KEY, JSON.stringify(value)); },
  clear() { sessionStorage.removeItem(KEY); },
  get user() { return (this.load() || {}).user || null; },
  get role() { return ((this.load() || {}).user || {}).role || null; },
};

async function parse(response) {
  const type = response.headers.get("content-type") || "";
  if (response.status === 204) return null;
  if (type.includes("json")) return response.json();
  return response.text();
}

async function send(method, path, body, headers) {
  const current = session.load();
  const all = { Accept: "application/json", ...headers };
  if (current && current.access_token) all.Authorization = `Bearer ${current.access_token}`;
  let payload;
  if (body instanceof FormData || body instanceof Blob || typeof body === "string") payload = body; // raw: the caller sets Content-Type
  else if (body !== undefined) { all["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  return fetch(path, { method, headers: all, body: payload });
}

let refreshing = null;

async function refresh() {
  const current = session.load();
  if (!current || !current.refresh_token) return false;
  if (!refreshing) {
    refreshing = (async () => {
      const response = await fetch("/v1/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: current.refresh_token }),
      });
      if (!response.ok) return false;
      const tokens = await response.json();
      session.save({ ...current, ...tokens });
      return true;
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** Call the API; resolves to the JSON body, rejects with ApiError. */
export async function api(method, path, body, { headers = {} } = {}) {
  let response = await send(method, path, body, headers);
  if (response.status === 401 && !path.startsWith("/v1/auth/") && (await refresh())) {
    response = await send(method, path, body, headers);
  }
  const data = await parse(response);
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith("/v1/auth/")) {
      session.clear();
      window.dispatchEvent(new CustomEvent("riskdesk:logout"));
    }
    throw new ApiError(response.status, typeof data === "object" ? data : { detail: String(data) });
  }
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body, options) => api("POST", path, body ?? {}, options);
export const patch = (path, body) => api("PATCH", path, body ?? {});
export const put = (path, body) => api("PUT", path, body ?? {});
export const del = (path) => api("DELETE", path);

/** Every page of a keyset-paginated list (items + next_cursor), up to ``limit`` items. */
export async function getAll(path, limit = 1000) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page = await get(cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path);
    items.push(...(page.items || []));
    cursor = page.next_cursor || null;
  } while (cursor && items.length < limit);
  return items;
}

export async function login(username, password) {
  const tokens = await api("POST", "/v1/auth/login", { username, password });
  session.save(tokens);
  const me = await get("/v1/auth/me");
  session.save({ ...tokens, user: me });
  return me;
}

export async function logout() {
  const current = session.load();
  try {
    if (current && current.refresh_token) {
      await api("POST", "/v1/auth/logout", { refresh_token: current.refresh_token });
    }
  } catch { /* the session ends locally either way */ }
  session.clear();
}

/** A WebSocket to ``path`` with the access token; reconnects until closed by the caller. */
export function socket(path, onMessage, { onState = () => {} } = {}) {
  let ws = null;
  let closed = false;
  let delay = 500;
  const open = () => {
    const current = session.load();
    if (!current) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const sep = path.includes("?") ? "&" : "?";
    ws = new WebSocket(`${scheme}://${location.host}${path}${sep}access_token=${encodeURIComponent(current.access_token)}`);
    ws.onopen = () => { delay = 500; onState("open"); };
    ws.onmessage = (event) => {
      try { onMessage(JSON.parse(event.data)); } catch (error) { console.error(error); }
    };
    ws.onclose = async (event) => {
      onState("closed");
      if (closed) return;
      if (event.code === 4401) await refresh();
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    };
  };
  open();
  return { close() { closed = true; if (ws) ws.close(); }, send(data) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(data)); } };
}
