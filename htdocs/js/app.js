// Entry point: hash router, page chrome (navigation, who is signed in),
// flash messages, health indicator.
//
// A page is a module with render(ctx) and, optionally, update(ctx) (called
// instead of a new render when only the query of its URL changed: Back
// and Forward between filter states keep the page and its focus). To add
// a page: one entry in ROUTES below and, for the main navigation, one link
// in index.html (<a href="#/x" data-nav="x">, with data-role="admin" when
// only that role may open it). docs/ui.md says more.
import { h, replace, clear, $, $$ } from './dom.js';
import { api, ApiError, onUnauthorized } from './api.js';
import * as session from './session.js';
import * as loginView from './views/login.js';
import * as scriptsView from './views/scripts.js';
import * as scriptFormView from './views/script-form.js';
import * as scriptView from './views/script.js';
import * as executionsView from './views/executions.js';
import * as executionView from './views/execution.js';
import * as venvsView from './views/venvs.js';
import * as marketplaceView from './views/marketplace.js';
import * as tokensView from './views/tokens.js';

// re: the path; keys: names of its groups; nav: the main-navigation link
// it belongs to; role: the least role that may open it; what: the thing a
// 404 of its first request means is missing (for the not-found page).
const ROUTES = [
  { re: /^\/login$/, view: loginView, nav: null, public: true },
  { re: /^\/scripts$/, view: scriptsView, nav: 'scripts' },
  { re: /^\/scripts\/new$/, view: scriptFormView, nav: 'scripts', role: 'admin' },
  { re: /^\/scripts\/(\d+)\/edit$/, view: scriptFormView, nav: 'scripts', keys: ['id'], role: 'admin', what: 'script' },
  { re: /^\/scripts\/(\d+)$/, view: scriptView, nav: 'scripts', keys: ['id'], what: 'script' },
  { re: /^\/executions$/, view: executionsView, nav: 'executions' },
  { re: /^\/executions\/(\d+)$/, view: executionView, nav: 'executions', keys: ['id'], what: 'execution' },
  { re: /^\/venvs$/, view: venvsView, nav: 'venvs' },
  { re: /^\/marketplace$/, view: marketplaceView, nav: 'marketplace' },
  { re: /^\/marketplace\/([a-z][a-z0-9._-]{0,63})$/, view: marketplaceView, nav: 'marketplace', keys: ['name'] },
  { re: /^\/venvs\/(\d+)$/, view: venvsView, nav: 'venvs', keys: ['id'], what: 'venv' },
  { re: /^\/tokens$/, view: tokensView, nav: 'tokens', role: 'admin' },
];

const HOME = '/scripts';
const main = $('#main');
const flashArea = $('#flash');
let generation = 0;
let cleanups = [];
let pendingFlash = [];
let loginReason = '';
let shown = null; // {route, path, ctx} of the page on screen

export function navigate(path, { replace: rep = false } = {}) {
  const target = `#${path}`;
  if (location.hash === target) { route(); return; }
  if (rep) { history.replaceState(null, '', target); route(); } else location.hash = target;
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
  setTimeout(() => { throw err; });
}

// The hash is the app's URL: "#/path?query". query holds the first value
// of each key; search (URLSearchParams) has them all.
function parseHash() {
  const raw = location.hash.replace(/^#/, '') || HOME;
  const qi = raw.indexOf('?');
  const path = qi >= 0 ? raw.slice(0, qi) : raw;
  const search = new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : '');
  const query = {};
  for (const [k, v] of search) if (!(k in query)) query[k] = v;
  return { path, query, search, full: raw };
}

// Where sign-in goes afterwards: a path of this app, never another site.
function safeNext(v) {
  return typeof v === 'string' && /^\/[a-z]/.test(v) && !v.startsWith('/login') ? v : HOME;
}

function setNav(which) {
  for (const a of $$('[data-nav]')) {
    if (a.dataset.nav === which) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// The top bar: links the role may follow, who is signed in, sign-out.
function paintChrome() {
  const s = session.get();
  document.body.classList.toggle('signed-out', !s);
  for (const a of $$('[data-nav][data-role]')) a.hidden = !session.has(a.dataset.role);
  $('#signout').hidden = !s;
  const who = $('#whoami');
  if (s) {
    replace(who, 'signed in as ', h('strong', { dataset: { who: 'name' } }, s.token_name), ' (',
      h('span', { dataset: { who: 'role' } }, s.role), ')');
    who.title = s.expires_at ? `session expires ${s.expires_at}` : '';
  } else clear(who);
  who.hidden = !s;
}

function runCleanups() {
  for (const fn of cleanups) { try { fn(); } catch { /* ignore */ } }
  cleanups = [];
}

function findRoute(path) {
  for (const r of ROUTES) {
    const m = r.re.exec(path);
    if (m) {
      const params = {};
      (r.keys || []).forEach((k, i) => { params[k] = m[i + 1]; });
      return { r, params };
    }
  }
  return null;
}

// Pages of the app's own: nothing at this address, a thing that does not
// exist, a page the role may not open.
function notFoundPage(text, back = HOME) {
  replace(main,
    h('h1', { tabindex: '-1', dataset: { page: 'not-found' } }, 'Not found'),
    h('p', null, text),
    h('p', null, h('a', { href: `#${back}` }, back === HOME ? 'Go to scripts' : `Go to ${back.slice(1)}`), '.'));
}

function notAllowedPage(need) {
  replace(main,
    h('h1', { tabindex: '-1', dataset: { page: 'not-allowed' } }, 'Not allowed'),
    h('p', null, `This page needs the ${need} role; you are signed in as ${session.get().token_name} with the ${session.role()} role.`),
    h('p', null, h('a', { href: `#${HOME}` }, 'Go to scripts'), '.'));
}

async function route() {
  if (location.hash && !location.hash.startsWith('#/')) return; // in-page anchors
  const { path, query, search, full } = parseHash();
  const found = findRoute(path);

  // Same page, other query (a filter, Back between two filter states):
  // the page updates itself when it can.
  if (found && shown && shown.route === found.r && shown.path === path && found.r.view.update) {
    shown.ctx.query = query;
    shown.ctx.search = search;
    try { await found.r.view.update(shown.ctx); } catch (e) { if (shown && shown.ctx.alive()) fail(e); }
    return;
  }

  runCleanups();
  generation += 1;
  const gen = generation;
  shown = null;
  clear(flashArea);
  for (const f of pendingFlash) flash(f.message, f.kind);
  pendingFlash = [];

  if (!found) {
    setNav(null);
    notFoundPage(`There is no page at ${path}.`);
    focusHeading();
    return;
  }
  const { r: match, params } = found;
  if (match.public) {
    try { await session.load(); } catch { /* a public page works without */ }
    if (gen !== generation) return;
  } else {
    let signedIn;
    try {
      signedIn = await session.load();
    } catch (e) {
      if (gen !== generation) return;
      paintChrome();
      setNav(null);
      // Said once, on the page (not also as a flash).
      replace(main, h('h1', null, 'scriptorch'), h('p', { class: 'notice', role: 'alert' }, 'Cannot tell whether you are signed in: ',
        e instanceof ApiError ? e.friendly : String(e)));
      if (e instanceof ApiError && (e.status === 0 || e.status === 503)) setHealth(false, e.friendly);
      return;
    }
    if (gen !== generation) return;
    if (!signedIn) {
      paintChrome();
      history.replaceState(null, '', `#/login?next=${encodeURIComponent(full)}`);
      route();
      return;
    }
  }
  paintChrome();
  setNav(match.nav);
  clear(main);
  if (match.role && !session.has(match.role)) {
    notAllowedPage(match.role);
    focusHeading();
    return;
  }
  const ctx = {
    root: main,
    params,
    query,
    search,
    path,
    session: session.get(),
    can: session.can,
    alive: () => gen === generation,
    onCleanup: (fn) => { if (gen === generation) cleanups.push(fn); else fn(); },
    navigate,
    // Puts the page's state in its URL (a new history entry, so Back
    // returns to the state before), without a new render.
    setQuery: (params2, { push = true } = {}) => {
      const q = params2 instanceof URLSearchParams ? params2 : new URLSearchParams(params2);
      const s = q.toString();
      const target = `#${path}${s ? `?${s}` : ''}`;
      if (target === location.hash) return;
      if (push) history.pushState(null, '', target); else history.replaceState(null, '', target);
      ctx.query = Object.fromEntries(q);
      ctx.search = q;
    },
    flash,
    fail,
    next: () => safeNext(query.next),
    signedIn: (to) => { paintChrome(); navigate(to, { replace: true }); },
    loginReason: () => { const r = loginReason; loginReason = ''; return r; },
  };
  try {
    await match.view.render(ctx);
    if (gen === generation) shown = { route: match, path, ctx };
  } catch (e) {
    if (gen !== generation) return;
    if (e instanceof ApiError && e.status === 404 && match.what) {
      setNav(match.nav);
      notFoundPage(`There is no ${match.what} ${params.id || ''}: it never existed, or it was deleted.`, `/${match.nav}`);
    } else fail(e);
  }
  if (gen === generation) focusHeading();
}

function focusHeading() {
  const h1 = main.querySelector('h1');
  if (h1 && document.activeElement === document.body) {
    if (!h1.hasAttribute('tabindex')) h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: true });
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

// The session ended on the server (expired, signed out elsewhere, token
// revoked): sign in again, then come back here.
onUnauthorized(() => {
  session.forget();
  paintChrome();
  const { path, full } = parseHash();
  if (path === '/login') return;
  loginReason = 'Your session ended (it expired, you signed out elsewhere, or its token was revoked). Please sign in again.';
  navigate(`/login?next=${encodeURIComponent(full)}`, { replace: true });
});

$('#signout').addEventListener('click', async () => {
  try {
    await session.signOut();
    flash('Signed out.', 'info', { next: true });
  } catch (e) {
    // The cookie may outlive a failed sign-out; say so rather than pretend.
    if (!(e instanceof ApiError && e.status === 401)) fail(e, 'Sign-out failed: ');
  }
  paintChrome();
  navigate('/login');
});

$('.skip-link').addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});

window.addEventListener('hashchange', route);
if (!location.hash) history.replaceState(null, '', `#${HOME}`);
route();
checkHealth();
healthTimer = setInterval(checkHealth, 30000);
window.addEventListener('pagehide', () => clearInterval(healthTimer));
