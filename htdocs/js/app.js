// Entry point: hash router, page chrome, flash messages, health indicator.
import { h, replace, clear, $, $$ } from './dom.js';
import { api, ApiError, getToken, clearToken, onUnauthorized } from './api.js';
import * as loginView from './views/login.js';
import * as scriptsView from './views/scripts.js';
import * as scriptFormView from './views/script-form.js';
import * as scriptView from './views/script.js';
import * as executionsView from './views/executions.js';
import * as executionView from './views/execution.js';
import * as venvsView from './views/venvs.js';
import * as marketplaceView from './views/marketplace.js';

const ROUTES = [
  { re: /^\/login$/, view: loginView, nav: null, public: true },
  { re: /^\/scripts$/, view: scriptsView, nav: 'scripts' },
  { re: /^\/scripts\/new$/, view: scriptFormView, nav: 'scripts' },
  { re: /^\/scripts\/(\d+)\/edit$/, view: scriptFormView, nav: 'scripts', keys: ['id'] },
  { re: /^\/scripts\/(\d+)$/, view: scriptView, nav: 'scripts', keys: ['id'] },
  { re: /^\/executions$/, view: executionsView, nav: 'executions' },
  { re: /^\/executions\/(\d+)$/, view: executionView, nav: 'executions', keys: ['id'] },
  { re: /^\/venvs$/, view: venvsView, nav: 'venvs' },
  { re: /^\/venvs\/(\d+)$/, view: venvsView, nav: 'venvs', keys: ['id'] },
  { re: /^\/marketplace$/, view: marketplaceView, nav: 'marketplace' },
  { re: /^\/marketplace\/([a-z][a-z0-9._-]{0,63})$/, view: marketplaceView, nav: 'marketplace', keys: ['name'] },
];

const main = $('#main');
const flashArea = $('#flash');
let generation = 0;
let cleanups = [];
let pendingFlash = [];
let loginReason = '';

export function navigate(path, { replace: rep = false } = {}) {
  const target = `#${path}`;
  if (location.hash === target) { route(); return; }
  if (rep) history.replaceState(null, '', target);
  else location.hash = target;
  if (rep) route();
}

// Show a message now (or after the next navigation with {next: true}).
export function flash(message, kind = 'info', { next = false } = {}) {
  if (next) { pendingFlash.push({ message, kind }); return; }
  const close = h('button', { type: 'button', class: 'flash-close', 'aria-label': 'Dismiss message' }, '×');
  const el = h('div', { class: ['flash', `flash-${kind}`], role: kind === 'error' ? 'alert' : 'status' },
    h('span', { class: 'flash-text' }, message), close);
  close.addEventListener('click', () => el.remove());
  flashArea.appendChild(el);
  if (kind !== 'error') setTimeout(() => el.remove(), 8000);
}

// Report a failed API call (or anything else) to the user.
export function fail(err, prefix = '') {
  if (err && err.name === 'AbortError') return;
  if (err instanceof ApiError) {
    if (err.status === 401) return; // handled by onUnauthorized
    const rid = err.requestId ? ` (request ${err.requestId})` : '';
    flash(`${prefix}${err.friendly}${err.status >= 500 && err.status !== 503 ? rid : ''}`, 'error');
    if (err.status === 0 || err.status === 503) setHealth(false, err.friendly);
    return;
  }
  flash(`${prefix}${err && err.message ? err.message : String(err)}`, 'error');
  // Keep real bugs visible to developers too.
  if (!(err instanceof ApiError)) setTimeout(() => { throw err; });
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/scripts';
  const qi = raw.indexOf('?');
  const path = qi >= 0 ? raw.slice(0, qi) : raw;
  const query = Object.fromEntries(new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : ''));
  return { path, query };
}

function setNav(which) {
  for (const a of $$('[data-nav]')) {
    if (a.dataset.nav === which) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function runCleanups() {
  for (const fn of cleanups) { try { fn(); } catch { /* ignore */ } }
  cleanups = [];
}

async function route() {
  if (location.hash && !location.hash.startsWith('#/')) return; // in-page anchors
  const { path, query } = parseHash();
  runCleanups();
  generation += 1;
  const gen = generation;
  clear(flashArea);
  for (const f of pendingFlash) flash(f.message, f.kind);
  pendingFlash = [];

  const signedIn = Boolean(getToken());
  $('#signout').hidden = !signedIn;
  document.body.classList.toggle('signed-out', !signedIn);

  let match = null;
  let params = {};
  for (const r of ROUTES) {
    const m = r.re.exec(path);
    if (m) {
      match = r;
      (r.keys || []).forEach((k, i) => { params[k] = m[i + 1]; });
      break;
    }
  }
  if (!match) {
    setNav(null);
    replace(main, h('h1', { tabindex: '-1' }, 'Not found'),
      h('p', null, 'There is no page at ', h('code', null, path), '. ', h('a', { href: '#/scripts' }, 'Go to scripts'), '.'));
    return;
  }
  if (!match.public && !signedIn) {
    history.replaceState(null, '', '#/login');
    route();
    return;
  }
  setNav(match.nav);
  clear(main);
  const ctx = {
    root: main,
    params,
    query,
    path,
    alive: () => gen === generation,
    onCleanup: (fn) => { if (gen === generation) cleanups.push(fn); else fn(); },
    navigate,
    flash,
    fail,
    loginReason: () => { const r = loginReason; loginReason = ''; return r; },
  };
  try {
    await match.view.render(ctx);
  } catch (e) {
    if (gen === generation) fail(e);
  }
  if (gen === generation) {
    const h1 = main.querySelector('h1');
    if (h1 && document.activeElement === document.body) {
      if (!h1.hasAttribute('tabindex')) h1.setAttribute('tabindex', '-1');
      h1.focus({ preventScroll: true });
    }
  }
}

let healthTimer = null;
function setHealth(ok, detail = '') {
  const el = $('#health');
  el.className = `health ${ok ? 'health-ok' : 'health-bad'}`;
  el.textContent = ok ? 'API ok' : 'API unavailable';
  el.title = detail;
}

async function checkHealth() {
  try {
    const r = await api.health();
    setHealth(r && r.status === 'ok', r && r.version ? `version ${r.version}` : '');
  } catch (e) {
    setHealth(false, e instanceof ApiError ? e.friendly : String(e));
  }
}

onUnauthorized(() => {
  clearToken();
  loginReason = 'Your token was not accepted (missing, unknown or revoked). Please sign in again.';
  if (parseHash().path !== '/login') navigate('/login', { replace: true });
});

$('#signout').addEventListener('click', () => {
  clearToken();
  flash('Signed out. The token was removed from this browser session.', 'info', { next: true });
  navigate('/login');
});

$('.skip-link').addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});

window.addEventListener('hashchange', route);
if (!location.hash) history.replaceState(null, '', getToken() ? '#/scripts' : '#/login');
route();
checkHealth();
healthTimer = setInterval(checkHealth, 30000);
window.addEventListener('pagehide', () => clearInterval(healthTimer));
