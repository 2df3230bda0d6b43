// Who is signed in, and what their role may do. The session itself is
// the server's HttpOnly cookie; this module only keeps what
// GET /api/v1/session answered ({token_id, token_name, role, expires_at}), so that
// views offer only the actions the role may take (API.md "Authentication
// and roles"). The server decides in the end: this is about not offering
// a button that can only end in a 403.
import { api, ApiError } from './api.js';

let current = null;     // {token_id, token_name, role, expires_at} or null
let loaded = false;

const RANK = { viewer: 1, operator: 2, admin: 3 };

export function get() { return current; }
export function isSignedIn() { return current !== null; }
export function role() { return current ? current.role : null; }

// at least 'viewer' | 'operator' | 'admin'
export function has(min) {
  return Boolean(current) && (RANK[current.role] || 0) >= (RANK[min] || 99);
}

// What the role may do, named by action, for views to ask.
export const can = {
  get run() { return has('operator'); },      // start executions, re-run
  get cancel() { return has('operator'); },
  get admin() { return has('admin'); },       // registry writes, test runs, venvs, tokens
};

// Asks the server once (or again with force): true when signed in. A 401
// means "not signed in"; anything else (API down) is thrown.
export async function load({ force = false } = {}) {
  if (loaded && !force) return isSignedIn();
  try {
    const s = await api.session();
    current = s && s.role ? {
      // The id tells which token of the list is this session's own (names
      // are not unique); null from a server without it.
      token_id: Number.isInteger(s.token_id) ? s.token_id : null,
      token_name: s.token_name || '?',
      role: s.role,
      expires_at: s.expires_at || null,
    } : null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) current = null;
    else throw e;
  }
  loaded = true;
  return isSignedIn();
}

// Signs in with a token: the server sets the cookie, then says who we are.
export async function signIn(token) {
  await api.signIn(token);
  loaded = false;
  const ok = await load({ force: true });
  if (!ok) throw new ApiError(401, 'unauthorized', 'the session was not accepted');
  return current;
}

export async function signOut() {
  try {
    await api.signOut();
  } finally {
    forget();
  }
}

// The session ended on the server (401): forget it here too.
export function forget() {
  current = null;
  loaded = true;
}
