// Thin wrapper over fetch for the /api/v1 contract.
// Every non-2xx answer becomes an ApiError carrying the contract's
// {"error": {"code", "message", "field"}} body.

const TOKEN_KEY = 'scriptorch.token';
const BASE = '/api/v1';

export class ApiError extends Error {
  constructor(status, code, message, field = null, requestId = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.requestId = requestId;
  }

  // A sentence an admin can act on.
  get friendly() {
    switch (this.status) {
      case 0: return 'The API is unavailable (network error). Check that scriptorch and nginx are running.';
      case 401: return 'Your token was not accepted (missing, unknown or revoked). Sign in again.';
      case 403: return `Your token's role may not do this. ${this.message || ''}`.trim();
      case 503: return `The API is unavailable: ${this.message || 'service unavailable'}. Nothing was changed; try again shortly.`;
      case 429: return `The queue is full: ${this.message || 'overloaded'}. Try again later.`;
      default: return this.message || `Request failed (HTTP ${this.status}).`;
    }
  }
}

export function getToken() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}

export function setToken(t) {
  sessionStorage.setItem(TOKEN_KEY, t);
}

export function clearToken() {
  try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* ignore */ }
}

const listeners = new Set();
// Called with the ApiError for every 401 (so the app can send the user to sign in).
export function onUnauthorized(fn) { listeners.add(fn); }

function qs(params) {
  if (!params) return '';
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

async function errorFrom(res) {
  const rid = res.headers.get('X-Request-Id');
  let code = 'http_' + res.status;
  let message = res.statusText || `HTTP ${res.status}`;
  let field = null;
  try {
    const body = await res.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
      field = body.error.field || null;
    }
  } catch { /* not JSON (e.g. nginx 502 page) */ }
  if (res.status === 502 || res.status === 504) {
    // nginx could not reach the application: same meaning as 503 for the user.
    return new ApiError(503, 'unavailable', 'the application server is not answering', null, rid);
  }
  return new ApiError(res.status, code, message, field, rid);
}

export async function request(method, path, { body, query, token = getToken(), raw = false, signal, auth = true, notify401 = true } = {}) {
  // Signed out (or never signed in): nothing is sent, so a page that is
  // still loading after sign-out cannot fire unauthenticated requests.
  if (auth && !token) throw new ApiError(401, 'unauthorized', 'Not signed in.');
  const headers = { Accept: raw ? '*/*' : 'application/json' };
  if (auth) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, signal, cache: 'no-store', credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json; charset=utf-8';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(BASE + path + qs(query), init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'network error', null, null);
  }
  if (!res.ok) {
    const err = await errorFrom(res);
    if (err.status === 401 && auth && notify401) for (const fn of listeners) fn(err);
    throw err;
  }
  if (raw) return res.blob();
  if (res.status === 204) return null;
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 'bad_response', 'The server sent a response that is not JSON.', null, res.headers.get('X-Request-Id'));
  }
}

export const api = {
  get: (p, o) => request('GET', p, o),
  post: (p, body, o = {}) => request('POST', p, { ...o, body }),
  patch: (p, body, o = {}) => request('PATCH', p, { ...o, body }),
  del: (p, o) => request('DELETE', p, o),

  health: () => request('GET', '/health', { auth: false }),

  scripts: (query) => request('GET', '/admin/scripts', { query }).then((r) => (r && r.scripts) || []),
  script: (id) => request('GET', `/admin/scripts/${enc(id)}`),
  createScript: (s) => request('POST', '/admin/scripts', { body: s }),
  updateScript: (id, s) => request('PATCH', `/admin/scripts/${enc(id)}`, { body: s }),
  deleteScript: (id) => request('DELETE', `/admin/scripts/${enc(id)}`),
  versions: (id) => request('GET', `/admin/scripts/${enc(id)}/versions`).then((r) => (r && r.versions) || []),
  testRun: (id, input) => request('POST', `/admin/scripts/${enc(id)}/test`, { body: { input } }),

  startExecution: (idOrName, input) => request('POST', `/scripts/${enc(idOrName)}/executions`, { body: { input } }),
  executions: (query) => request('GET', '/executions', { query }),
  execution: (id) => request('GET', `/executions/${enc(id)}`),
  cancel: (id) => request('POST', `/executions/${enc(id)}/cancel`, { body: {} }),
  stream: (id, which) => request('GET', `/executions/${enc(id)}/${which}`, { raw: true }),

  venvs: () => request('GET', '/admin/venvs').then((r) => (r && r.venvs) || []),
  venv: (id) => request('GET', `/admin/venvs/${enc(id)}`),
  evictVenv: (id) => request('DELETE', `/admin/venvs/${enc(id)}`),
};

function enc(v) { return encodeURIComponent(String(v)); }
