// Thin wrapper over fetch for the /api/v1 contract.
// The browser is signed in by the session cookie (POST /api/v1/session,
// HttpOnly: no script here ever sees a token after sign-in). Every call
// carries X-Requested-With, without which the server refuses a request
// that the cookie authenticates (a cross-site form cannot set it).
// Every non-2xx answer becomes an ApiError carrying the contract's
// {"error": {"code", "message", "field", "errors"}} body.

const BASE = '/api/v1';
const XRW = 'scriptorch';

export class ApiError extends Error {
  constructor(status, code, message, { field = null, errors = null, requestId = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    // Every invalid field of a 422, at least the one of `field`.
    this.errors = Array.isArray(errors) && errors.length ? errors
      : (field ? [{ field, message }] : []);
    this.requestId = requestId;
  }

  // A sentence an admin can act on. The server's own sentence is used as
  // it is wherever it says everything (a 403 names the role and what it
  // needs): wrapping it in a sentence of ours would say it twice.
  get friendly() {
    const m = this.message ? this.message.charAt(0).toUpperCase() + this.message.slice(1) : '';
    switch (this.status) {
      case 0: return 'The API is unavailable (network error). Check that scriptorch and nginx are running.';
      case 401: return 'You are not signed in, or your session ended (signed out, expired, or its token was revoked). Sign in again.';
      case 403: return m ? `Not allowed: ${this.message}.` : 'Not allowed for your role.';
      case 503: return `The API is unavailable: ${this.message || 'service unavailable'}. Nothing was changed; try again shortly.`;
      case 429: return `The queue is full: ${this.message || 'overloaded'}. Try again later.`;
      default: return m || `Request failed (HTTP ${this.status}).`;
    }
  }
}

const listeners = new Set();
// Called with the ApiError for every 401 (so the app can send the user to sign in).
export function onUnauthorized(fn) { listeners.add(fn); }

// Query strings: an array value is sent as one comma-separated parameter.
function qs(params) {
  if (!params) return '';
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) { if (v.length) u.set(k, v.join(',')); continue; }
    u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

async function errorFrom(res) {
  const requestId = res.headers.get('X-Request-Id');
  let code = 'http_' + res.status;
  let message = res.statusText || `HTTP ${res.status}`;
  let field = null;
  let errors = null;
  try {
    const body = await res.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
      field = body.error.field || null;
      if (Array.isArray(body.error.errors)) {
        errors = body.error.errors.filter((e) => e && typeof e.message === 'string')
          .map((e) => ({ field: e.field == null ? null : String(e.field), message: e.message }));
      }
    }
  } catch { /* not JSON (e.g. nginx 502 page) */ }
  if (res.status === 502 || res.status === 504) {
    // nginx could not reach the application: same meaning as 503 for the user.
    return new ApiError(503, 'unavailable', 'the application server is not answering', { requestId });
  }
  return new ApiError(res.status, code, message, { field, errors, requestId });
}

// request(method, path, {body, query, raw, signal, notify401})
// notify401: false for calls whose 401 is an answer, not a lost session
// (the sign-in itself, the first look at the session).
export async function request(method, path, { body, query, raw = false, signal, notify401 = true } = {}) {
  const headers = { Accept: raw ? '*/*' : 'application/json', 'X-Requested-With': XRW };
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
    throw new ApiError(0, 'network', 'network error');
  }
  if (!res.ok) {
    const err = await errorFrom(res);
    if (err.status === 401 && notify401) for (const fn of listeners) fn(err);
    throw err;
  }
  if (raw) return res.blob();
  if (res.status === 204) return null;
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(res.status, 'bad_response', 'The server sent a response that is not JSON.', { requestId: res.headers.get('X-Request-Id') });
  }
}

export const api = {
  get: (p, o) => request('GET', p, o),
  post: (p, body, o = {}) => request('POST', p, { ...o, body }),
  patch: (p, body, o = {}) => request('PATCH', p, { ...o, body }),
  del: (p, o) => request('DELETE', p, o),

  health: () => request('GET', '/health', { notify401: false }),

  // Sessions (API.md "Sessions"): the cookie is the server's to set and clear.
  signIn: (token) => request('POST', '/session', { body: { token }, notify401: false }),
  session: () => request('GET', '/session', { notify401: false }),
  signOut: () => request('DELETE', '/session', { notify401: false }),

  tokens: () => request('GET', '/admin/tokens').then((r) => (r && r.tokens) || []),
  createToken: (name, role) => request('POST', '/admin/tokens', { body: { name, role } }),
  revokeToken: (id) => request('DELETE', `/admin/tokens/${enc(id)}`),

  scripts: (query) => request('GET', '/admin/scripts', { query }).then((r) => (r && r.scripts) || []),
  script: (id) => request('GET', `/admin/scripts/${enc(id)}`),
  createScript: (s) => request('POST', '/admin/scripts', { body: s }),
  inspectPath: (path) => request('POST', '/admin/scripts/inspect', { body: { path } }),
  updateScript: (id, s) => request('PATCH', `/admin/scripts/${enc(id)}`, { body: s }),
  deleteScript: (id) => request('DELETE', `/admin/scripts/${enc(id)}`),
  versions: (id) => request('GET', `/admin/scripts/${enc(id)}/versions`).then((r) => (r && r.versions) || []),
  testRun: (id, input) => request('POST', `/admin/scripts/${enc(id)}/test`, { body: { input } }),

  startExecution: (idOrName, input) => request('POST', `/scripts/${enc(idOrName)}/executions`, { body: { input } }),
  executions: (query) => request('GET', '/executions', { query }),
  executionCounts: (query) => request('GET', '/executions/counts', { query }),
  durations: (query) => request('GET', '/executions/durations', { query }).then((r) => (r && r.durations) || []),
  execution: (id) => request('GET', `/executions/${enc(id)}`),
  cancel: (id) => request('POST', `/executions/${enc(id)}/cancel`, { body: {} }),
  stream: (id, which) => request('GET', `/executions/${enc(id)}/${which}`, { raw: true }),
  deliveries: (id) => request('GET', `/executions/${enc(id)}/deliveries`).then((r) => (r && r.deliveries) || []),

  config: () => request('GET', '/admin/config'),

  venvs: () => request('GET', '/admin/venvs').then((r) => (r && r.venvs) || []),
  venv: (id) => request('GET', `/admin/venvs/${enc(id)}`),
  evictVenv: (id) => request('DELETE', `/admin/venvs/${enc(id)}`),
  rebuildVenv: (id) => request('POST', `/admin/venvs/${enc(id)}/rebuild`),
};

function enc(v) { return encodeURIComponent(String(v)); }
