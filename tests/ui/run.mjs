#!/usr/bin/env node
// End-to-end tests of the scriptorch admin UI in headless Chromium, against
// the real stack (nginx + scriptorchd + MariaDB). Prints TAP; exits non-zero
// on any failure.
//
//   SCRIPTORCH_URL          e.g. http://127.0.0.1:8080 (nginx in front of the daemon)
//   SCRIPTORCH_TOKEN        an admin token
//   SCRIPTORCH_SCRIPT_ROOT  a script root of that daemon; test scripts are written there
//   SCRIPTORCH_UI_ONLY      optional: a regular expression; run only matching tests
//
// Every test also fails on a console error, an uncaught exception, a failed
// request or an HTTP error the test did not expect, a JavaScript dialog
// (alert) and any request to a host other than the stack's.
// Screenshots go to tests/artifacts/ui/*.png (git-ignored).

import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as marketplaceTests from './marketplace.mjs';
import { createRequire } from 'node:module';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const ARTIFACTS = path.join(REPO, 'tests', 'artifacts', 'ui');
const BASE = (process.env.SCRIPTORCH_URL || '').replace(/\/+$/, '');
const TOKEN = process.env.SCRIPTORCH_TOKEN || '';
const ROOT = process.env.SCRIPTORCH_SCRIPT_ROOT || '';
const ONLY = process.env.SCRIPTORCH_UI_ONLY ? new RegExp(process.env.SCRIPTORCH_UI_ONLY) : null;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

if (!BASE || !TOKEN || !ROOT) {
  console.log('Bail out! set SCRIPTORCH_URL, SCRIPTORCH_TOKEN and SCRIPTORCH_SCRIPT_ROOT (dev/up writes them to .dev/env)');
  process.exit(2);
}
const ORIGIN = new URL(BASE).origin;
const RUN = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;

// ---------------------------------------------------------------- test scripts
const files = {
  echo: path.join(ROOT, `ui-echo-${RUN}.sh`),
  sleep: path.join(ROOT, `ui-sleep-${RUN}.sh`),
  bin: path.join(ROOT, `ui-hello-${RUN}`),
  py: path.join(ROOT, `ui-py-${RUN}.py`),
  missing: path.join(ROOT, `ui-missing-${RUN}.sh`),
  ansi: path.join(ROOT, `ui-ansi-${RUN}.sh`),
  log: path.join(ROOT, `ui-log-${RUN}.sh`),
  tick: path.join(ROOT, `ui-tick-${RUN}.sh`),
  gone: path.join(ROOT, `ui-gone-${RUN}.sh`),
  pytool: path.join(ROOT, `ui-pytool-${RUN}`), // python by its #! line alone
};
const names = {
  echo: `ui-echo-${RUN}`,
  sleep: `ui-sleep-${RUN}`,
  bin: `ui-bin-${RUN}`,
  bad: `ui-bad-${RUN}`,
  binbad: `ui-binbad-${RUN}`,
  py: `ui-py-${RUN}`,
};
const MARKUP = '<script>alert(1)</script><b>bold?</b><img src=x onerror=alert(2)>';

function writeScripts() {
  fs.mkdirSync(ROOT, { recursive: true });
  fs.writeFileSync(files.echo, [
    '#!/bin/sh',
    '# written by tests/ui/run.mjs',
    'echo "hello ${INPUT_WHO}"',
    'echo "count=${INPUT_COUNT} argv=$*"',
    `echo '${MARKUP}'`,
    'echo "this goes to stderr" >&2',
    '',
  ].join('\n'), { mode: 0o755 });
  fs.writeFileSync(files.py, [
    'import json, sys',
    'data = json.load(sys.stdin)',
    'print(json.dumps({"greeting": "hi " + str(data.get("who", "?")), "python": sys.version.split()[0]}))',
    '',
  ].join('\n'), { mode: 0o644 });
  fs.writeFileSync(files.sleep, '#!/bin/sh\necho "started, sleeping"\nsleep 60\necho "not canceled"\n', { mode: 0o755 });
  // Colours, and markup in and around escape sequences (none of it may
  // become an element), a hyperlink escape, a progress line.
  fs.writeFileSync(files.ansi, [
    '#!/bin/sh',
    "printf '\\033[31mred <img src=x onerror=alert(1)>\\033[0m and \\033[1;4mbold underlined\\033[0m\\n'",
    "printf '\\033[38;5;208morange256\\033[0m \\033[38;2;10;200;30mtruecolor\\033[0m\\n'",
    "printf '\\033]8;;javascript:alert(3)\\033\\\\<a href=\"javascript:alert(4)\">link</a>\\033]8;;\\033\\\\\\n'",
    "printf '<script>alert(5)</script>\\033[7minverse\\033[27m\\n'",
    "printf 'progress 10%%\\rprogress 100%%\\n'",
    "printf '\\033[32mgreen on stderr\\033[0m\\n' >&2",
    '',
  ].join('\n'), { mode: 0o755 });
  // 3000 lines, a "needle" every 250th: over a 16 KiB cap, the middle goes.
  fs.writeFileSync(files.log, [
    '#!/bin/sh',
    'i=1',
    'while [ $i -le 3000 ]; do',
    '  if [ $((i % 250)) -eq 0 ]; then echo "needle $i"; else echo "line $i of the log"; fi',
    '  i=$((i + 1))',
    'done',
    '',
  ].join('\n'), { mode: 0o755 });
  // 20 lines a second for 8 seconds: a run to watch live.
  fs.writeFileSync(files.tick, [
    '#!/bin/sh',
    'i=1',
    'while [ $i -le 8 ]; do',
    '  j=1; while [ $j -le 20 ]; do echo "tick $i row $j"; j=$((j + 1)); done',
    '  sleep 1',
    '  i=$((i + 1))',
    'done',
    '',
  ].join('\n'), { mode: 0o755 });
  fs.writeFileSync(files.gone, '#!/bin/sh\necho "registered, then removed"\n', { mode: 0o755 });
  fs.writeFileSync(files.pytool, '#!/usr/bin/env python3\nimport sys\nprint(sys.argv)\n', { mode: 0o755 });
  const src = path.join(os.tmpdir(), `ui-hello-${RUN}.c`);
  fs.writeFileSync(src, [
    '#include <stdio.h>',
    'int main(int argc, char **argv)',
    '{',
    '\tprintf("binary says hi\\n");',
    '\tfor (int i = 1; i < argc; i++)',
    '\t\tprintf("arg%d=%s\\n", i, argv[i]);',
    '\treturn 0;',
    '}',
    '',
  ].join('\n'));
  execFileSync('cc', ['-O2', '-o', files.bin, src]);
  fs.rmSync(src, { force: true });
  for (const f of [files.echo, files.sleep, files.bin, files.ansi, files.log, files.tick, files.gone]) fs.chmodSync(f, 0o755);
}

function removeScripts() {
  for (const f of Object.values(files)) fs.rmSync(f, { force: true });
}

// Direct API calls (only for checks and cleanup; the UI is what is tested).
async function apiCall(method, p, body) {
  const res = await fetch(`${BASE}/api/v1${p}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

// ---------------------------------------------------------------- harness
const tests = [];
const test = (name, fn, { timeout = 90000 } = {}) => tests.push({ name, fn, timeout });
const state = {};

let problems = [];
const inflight = new Set(); // the page's API requests not answered yet
let expected = []; // [{status, re}] HTTP errors the current test provokes on purpose
const expectHttp = (status, re) => expected.push({ status, re });
// Always expected: the app's look at the session answers 401 when nobody
// is signed in (that is how it knows); the registration form's look at
// the path being typed answers 422 for a path no script can have (that is
// its answer: shown beside the field); and, on a daemon without callback
// deliveries (main() finds out), their endpoint's 404.
let noDeliveriesRoute = false;
const isExpected = (status, url) => expected.some((e) => e.status === status && e.re.test(url))
  || (status === 401 && /\/api\/v1\/session$/.test(url))
  || (status === 422 && /\/api\/v1\/admin\/scripts\/inspect$/.test(url))
  || (noDeliveriesRoute && status === 404 && /\/api\/v1\/executions\/\d+\/deliveries$/.test(url));

class Failure extends Error {}
function assert(cond, msg) { if (!cond) throw new Failure(msg); }

async function waitFor(what, fn, timeout = 15000, interval = 100) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) { last = e; }
    if (Date.now() > end) throw new Failure(`timed out waiting for ${what}${last instanceof Error ? ` (${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

const text = async (loc) => ((await loc.count()) ? (await loc.first().textContent()) || '' : '');
async function waitText(loc, needle, what, timeout = 15000) {
  return waitFor(what || `text ${JSON.stringify(needle)}`, async () => {
    const t = await text(loc);
    return (needle instanceof RegExp ? needle.test(t) : t.includes(needle)) ? t : false;
  }, timeout);
}

async function shot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// Loads the app and waits until it has settled (first view rendered, health
// checked), so that the next navigation does not cut off its requests.
async function load(page, url) {
  const res = await page.goto(url);
  await page.waitForFunction(() => {
    const hl = document.querySelector('#health');
    return hl && hl.textContent && document.querySelector('main h1');
  }, null, { timeout: 30000 });
  await page.waitForLoadState('networkidle');
  return res;
}

// Reloads the page (the same URL: a real reload, not a same-document
// navigation) and waits as load() does. The page's API requests end first:
// a reload aborts those still in flight (a slow answer to a view the test
// already left), which would count as failed requests.
async function reload(page) {
  await waitFor('the requests to end before the reload', () => inflight.size === 0);
  await page.reload();
  await page.waitForFunction(() => {
    const hl = document.querySelector('#health');
    return hl && hl.textContent && document.querySelector('main h1');
  }, null, { timeout: 30000 });
  await page.waitForLoadState('networkidle');
}

async function go(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, `#${hash}`);
  await page.waitForFunction((h) => location.hash.split('?')[0] === h.split('?')[0], `#${hash}`);
}

// Every page of a test is watched (watchPage), and every context's
// requests are kept to the stack's host (watchContext).
function watchPage(page, { main = false } = {}) {
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const t = msg.text();
    const m = /status of (\d{3})/.exec(t);
    const url = (msg.location() && msg.location().url) || '';
    if (m && isExpected(Number(m[1]), url)) return;
    problems.push(`console error: ${t}${url ? ` (${url})` : ''}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught exception in the page: ${e.message}`));
  page.on('dialog', (d) => { problems.push(`a JavaScript ${d.type()} dialog opened: ${d.message()}`); d.dismiss().catch(() => {}); });
  page.on('request', (r) => { if (main && r.url().startsWith(`${BASE}/api/`)) inflight.add(r); });
  page.on('requestfinished', (r) => inflight.delete(r));
  page.on('requestfailed', (r) => {
    inflight.delete(r);
    if (closing.has(page)) return; // a page the test closed
    const u = r.url();
    if (u.startsWith('blob:') || u.startsWith('data:')) return;
    problems.push(`request failed: ${r.method()} ${u}: ${r.failure() ? r.failure().errorText : '?'}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !isExpected(r.status(), r.url())) {
      problems.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
    }
  });
  return page;
}

function watchContext(context) {
  return context.route('**/*', (route) => {
    const u = route.request().url();
    let origin = '';
    try { origin = new URL(u).origin; } catch { /* keep '' */ }
    if (origin !== ORIGIN && !u.startsWith('data:') && !u.startsWith('blob:')) {
      problems.push(`request to a foreign host: ${u}`);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
}

class Skip extends Error {}

// axe-core's WCAG 2.1 A and AA rules on the page as it is: a list of
// violations, each "rule (impact): first targets". (Evaluated through the
// driver, which the page's CSP does not cover.)
const requireCjs = createRequire(import.meta.url);
let AXE = null;
async function axeCheck(page) {
  AXE ||= fs.readFileSync(requireCjs.resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
  const r = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'],
  }));
  return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}
const CONTEXT_OPTIONS = { viewport: { width: 1280, height: 900 }, acceptDownloads: true };
let browser = null;
let mainContext = null;
let sessions = []; // contexts a test opened (closed after it)
const closing = new WeakSet();

// A page in a browser of its own (no cookie of the main page's), watched
// like the main page; closed when the test ends.
async function freshPage() {
  const context = await browser.newContext(CONTEXT_OPTIONS);
  await watchContext(context);
  sessions.push(context);
  return watchPage(await context.newPage());
}

// Another tab of the main page's browser (its session cookie too).
async function newTab() {
  const p = watchPage(await mainContext.newPage());
  sessions.push({ close: () => p.close(), pages: () => [p] });
  return p;
}

async function closeSessions() {
  for (const c of sessions) {
    for (const p of c.pages()) closing.add(p);
    try { await c.close(); } catch { /* ignore */ }
  }
  sessions = [];
}

// Signs in on the sign-in page the app shows and waits to leave it.
async function signIn(page, token) {
  const field = page.locator('#token');
  await field.waitFor();
  await field.fill(token);
  await field.press('Enter');
  await waitFor('the sign-in to complete', async () => !(await page.evaluate(() => location.hash)).startsWith('#/login'), 15000);
}

// A new API token of a role, made through the API (revoked at the end).
async function makeToken(role) {
  const r = await apiCall('POST', '/admin/tokens', { name: `ui-${role}-${RUN}-${Math.floor(Math.random() * 1e6)}`, role });
  assert(r.status === 201 && r.json && r.json.token, `POST /admin/tokens answered ${r.status} ${r.text}`);
  (state.tokenIds ||= []).push(r.json.id);
  return r.json;
}

// Fills the registration form; does not submit.
async function fillScriptForm(page, s) {
  await go(page, '/scripts/new');
  const form = page.locator('#script-form');
  await form.waitFor();
  await form.locator('[data-field="name"] input').fill(s.name);
  await form.locator('[data-field="type"] select').selectOption(s.type);
  await form.locator('[data-field="path"] input').fill(s.path);
  if (s.description) await form.locator('[data-field="description"] textarea').fill(s.description);
  if (s.inputs) await form.locator('[data-field="inputs"] textarea').fill(JSON.stringify(s.inputs, null, 2));
  if (s.outputs) await form.locator('[data-field="outputs"] textarea').fill(JSON.stringify(s.outputs));
  if (s.env) await form.locator('[data-field="env"] textarea').fill(JSON.stringify(s.env));
  for (const a of s.args || []) {
    await form.getByRole('button', { name: 'Add argument' }).click();
    await form.locator('.args-list li:last-child input').fill(a);
  }
  if (s.timeout_s) await form.locator('[data-field="timeout_s"] input').fill(String(s.timeout_s));
}

async function submitAndOpen(page) {
  await page.locator('#script-form').getByRole('button', { name: 'Register script' }).click();
  await waitFor('the new script\'s page', async () => /^#\/scripts\/\d+$/.test(await page.evaluate(() => location.hash)), 15000);
  const id = Number((await page.evaluate(() => location.hash)).split('/')[2]);
  await page.locator('main h1').waitFor();
  return id;
}

async function runFromScriptPage(page, id, input) {
  await go(page, `/scripts/${id}`);
  const form = page.locator('#run-form');
  await form.waitFor();
  for (const [k, v] of Object.entries(input || {})) await form.locator(`input[name="${k}"]`).fill(String(v));
  await form.getByRole('button', { name: 'Run', exact: true }).click();
  const link = page.locator('#run-result a.exec-id');
  await link.waitFor({ timeout: 15000 });
  return Number((await link.getAttribute('href')).split('/')[2]);
}

const statusOf = (root) => root.locator('.exec-head [data-status]').first().getAttribute('data-status');
const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'canceled', 'error', 'lost']);

// Waits until the execution shown under root is final; fails unless it is `want`.
async function expectFinal(root, want, timeout) {
  const st = await waitFor(`the execution to finish (${want})`, async () => {
    const v = await statusOf(root);
    return FINAL.has(v) ? v : false;
  }, timeout);
  if (st !== want) {
    const err = (await text(root.locator('[data-exec="error"]'))).trim();
    throw new Failure(`the execution ended ${st}, not ${want}${err ? `: ${err}` : ''}`);
  }
}

// ---------------------------------------------------------------- the tests
test('htdocs: no inline scripts, styles or handlers, no innerHTML, no external URLs', async () => {
  const dir = path.join(REPO, 'htdocs');
  const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  const bad = [];
  for (const f of walk(dir)) {
    const src = fs.readFileSync(f, 'utf8');
    const rel = path.relative(REPO, f);
    // (The SVG namespace is a name, not an address anything is loaded from.)
    const code = src.replace(/\/\/ .*$/gm, '').replaceAll("'http://www.w3.org/2000/svg'", "''");
    if (/https?:\/\/|\/\/[a-z0-9-]+\.[a-z]{2,}\//i.test(code)) bad.push(`${rel}: absolute URL`);
    if (f.endsWith('.html')) {
      if (/<script(?![^>]*\bsrc=)[^>]*>/i.test(src)) bad.push(`${rel}: inline <script>`);
      if (/<style/i.test(src) || /\sstyle=/i.test(src)) bad.push(`${rel}: inline style`);
      if (/\son[a-z]+\s*=/i.test(src)) bad.push(`${rel}: inline event handler`);
    }
    if (f.endsWith('.js') && /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function/.test(src)) bad.push(`${rel}: HTML/code injection API`);
  }
  assert(!bad.length, bad.join('; '));
});

test('ansi.js: SGR colours and attributes, other escapes dropped, a line re-parsed from its start', async () => {
  const ansi = await import(path.join(REPO, 'htdocs', 'js', 'ansi.js'));
  const segs = (t, st) => ansi.parse(t, st).lines.map((l) => l.segments.map((g) => [g.text,
    Object.entries(g.style).filter(([, v]) => v !== null && v !== false).map(([k, v]) => `${k}=${v}`).join(' ')]));
  const eq = (a, b, what) => assert(JSON.stringify(a) === JSON.stringify(b), `${what}: ${JSON.stringify(a)}`);
  eq(segs('\x1b[31mred\x1b[0m plain\n\x1b[1;4;32mbu\x1b[22;24mg\x1b[m'),
    [[['red', 'fg=1'], [' plain', '']], [['bu', 'fg=2 bold=true underline=true'], ['g', 'fg=2']]], 'colours and attributes');
  eq(segs('\x1b[38;5;208ma\x1b[48;2;1;2;3mb\x1b[38:2::4:5:6mc\x1b[39;49;92md\x1b[7me'),
    [[['a', 'fg=208'], ['b', 'fg=208 bg=1,2,3'], ['c', 'fg=4,5,6 bg=1,2,3'], ['d', 'fg=10'], ['e', 'fg=10 inverse=true']]], '256 colours, RGB, bright, inverse');
  eq(segs('a\x1b[2Kb\x1b]8;;http://x\x1b\\c\x1b]0;t\x07d\x1b(Be\x07f\x08'), [[['abcdef', '']]], 'other sequences and controls dropped');
  eq(segs('10%\r50%\r100%\r\nx\r'), [[['100%', '']], [['x', '']]], 'a lone CR starts the line over; CRLF ends it');
  eq(segs('half \x1b[3'), [[['half ', '']]], 'a sequence cut off at the end waits');
  const r = ansi.parse('one\n\x1b[33mtwo');
  assert(r.lastLineStyle.fg === null && r.style.fg === 3, 'the last line\'s starting style is not kept');
  const r2 = ansi.parse('\x1b[35mone\ntw');
  eq(segs('two more', r2.lastLineStyle), [[['two more', 'fg=5']]], 'a last line parsed again from its start keeps its colour');
  assert(ansi.OMITTED_RE.test('[... 1234 bytes omitted ...]'), 'the omitted marker is not recognised');
});

test('the site sends a CSP with default-src \'self\'', async (page) => {
  const res = await load(page, `${BASE}/`);
  const csp = res.headers()['content-security-policy'] || '';
  assert(/default-src 'self'/.test(csp), `Content-Security-Policy is ${JSON.stringify(csp)}`);
});

test('sign-in page: an unknown token gets a clear 401 message', async (page) => {
  await load(page, `${BASE}/`);
  await waitFor('#/login', async () => (await page.evaluate(() => location.hash)).startsWith('#/login'));
  await page.locator('#token').fill('not-a-real-token-0000');
  await page.locator('#token').press('Enter');
  await waitText(page.locator('#login-error'), 'not accepted', 'the 401 message');
  assert(!(await page.evaluate(() => sessionStorage.length + localStorage.length)), 'a refused token was stored');
  assert((await mainContext.cookies(`${BASE}/api/v1/session`)).length === 0, 'a refused token got a cookie');
  await shot(page, '01-login-refused');
});

test('sign in with the admin token, using only the keyboard', async (page) => {
  await load(page, `${BASE}/#/login`);
  await page.locator('#token').waitFor();
  await waitFor('the token field to have focus', () => page.evaluate(() => document.activeElement && document.activeElement.id === 'token'));
  await page.keyboard.type(TOKEN);
  await page.keyboard.press('Enter');
  await waitFor('the scripts page', async () => (await page.evaluate(() => location.hash)).startsWith('#/scripts'));
  await page.locator('#scripts-table, .empty-state').first().waitFor();
  // The browser holds an HttpOnly session cookie, and never the token.
  const st = await page.evaluate(() => ({ s: Object.values(sessionStorage), l: Object.values(localStorage), c: document.cookie }));
  assert(![...st.s, ...st.l].some((v) => v.includes(TOKEN)), 'the token is kept in web storage');
  assert(!st.c.includes('scriptorch_session'), 'the session cookie is readable by scripts (not HttpOnly)');
  const cookie = (await mainContext.cookies(`${BASE}/api/v1/session`)).find((c) => c.name === 'scriptorch_session');
  assert(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', `the session cookie is ${JSON.stringify(cookie)}`);
  assert(!cookie.value.includes(TOKEN), 'the cookie carries the token itself');
  const me = await apiCall('GET', '/session');
  assert(me.status === 200 && me.json.token_name, `GET /session with the token answered ${me.status}`);
  state.adminName = me.json.token_name;
  await waitText(page.locator('#whoami'), `signed in as ${me.json.token_name} (admin)`, 'who is signed in');
  assert(await page.locator('.mainnav a[data-nav="tokens"]').isVisible(), 'an admin has no Tokens link');
  await waitText(page.locator('#health'), 'API ok', 'the health indicator');
});

test('register a shell script through the form', async (page) => {
  await fillScriptForm(page, {
    name: names.echo,
    type: 'shell',
    path: files.echo,
    description: 'UI test: echoes its input and some markup',
    inputs: { type: 'object', required: ['who'], properties: { who: { type: 'string', maxLength: 40 }, count: { type: 'integer', minimum: 0, maximum: 10 } } },
    outputs: { stdout: 'text' },
    env: { STUDIO: 'ui-test' },
    args: ['--who', '{who}'],
    timeout_s: 60,
  });
  await shot(page, '03-script-form');
  state.echoId = await submitAndOpen(page);
  await waitText(page.locator('main h1'), names.echo);
  assert(await page.locator('.title-badges .type-shell').count() === 1, 'no shell type badge');
  await waitText(page.locator('[data-fact="path"]'), files.echo);
  await waitText(page.locator('[data-fact="version"]'), 'sha256:', 'the version hash');
});

test('a bad path shows the server\'s validation error next to the path field', async (page) => {
  expectHttp(422, /\/api\/v1\/admin\/scripts$/);
  await fillScriptForm(page, { name: names.bad, type: 'shell', path: files.missing });
  await page.locator('#script-form').getByRole('button', { name: 'Register script' }).click();
  const err = page.locator('[data-field-error="path"]');
  await waitFor('the path error', async () => (await err.isVisible()) && (await text(err)).trim().length > 0);
  assert(await page.locator('[data-field="path"] input[aria-invalid="true"]').count() === 1, 'the path input is not marked invalid');
  assert(await page.locator('[data-field-error="name"]').isHidden(), 'the error is shown next to name too');
  assert((await page.evaluate(() => location.hash)) === '#/scripts/new', 'left the form');
  await shot(page, '04-validation-error');
});

test('a binary pointing at a shell script is refused with what the file is', async (page) => {
  expectHttp(422, /\/api\/v1\/admin\/scripts$/);
  await fillScriptForm(page, { name: names.binbad, type: 'binary', path: files.echo });
  await page.locator('#script-form').getByRole('button', { name: 'Register script' }).click();
  const err = page.locator('[data-field-error="path"]');
  await waitFor('the path error', async () => (await err.isVisible()) && /ELF/i.test(await text(err)));
});

test('register a binary (an ELF built with cc)', async (page) => {
  await fillScriptForm(page, { name: names.bin, type: 'binary', path: files.bin, description: 'UI test: compiled C', args: ['x', '{execution_id}'] });
  state.binId = await submitAndOpen(page);
  await waitText(page.locator('main h1'), names.bin);
  assert(await page.locator('.title-badges .type-binary').count() === 1, 'no binary type badge');
});

test('scripts list shows type, status and version at a glance, and filters', async (page) => {
  await go(page, '/scripts');
  const row = page.locator(`tr[data-script-name="${names.echo}"]`);
  await row.waitFor();
  assert(await row.locator('.type-shell').count() === 1, 'no shell badge in the row');
  assert(await text(row.locator('[data-col="status"]')) === 'enabled', 'status is not "enabled"');
  assert(/^[0-9a-f]{8,}$/.test((await text(row.locator('[data-col="version"]'))).trim()), 'no short hash');
  await page.locator('#f-type').selectOption('binary');
  await waitFor('the type filter', async () => (await page.locator(`tr[data-script-name="${names.echo}"]`).count()) === 0
    && (await page.locator(`tr[data-script-name="${names.bin}"]`).count()) === 1);
  await page.locator('#f-type').selectOption('');
  await page.locator('#f-q').fill(`ui-echo-${RUN}`);
  await waitFor('the text filter', async () => (await page.locator('#scripts-table tbody tr').count()) === 1
    && (await page.locator(`tr[data-script-name="${names.echo}"]`).count()) === 1);
  await page.locator('#f-q').fill('');
  await page.locator(`tr[data-script-name="${names.bin}"]`).waitFor();
});

test('disable and enable from the list and from the script page', async (page) => {
  assert(state.echoId, 'needs the shell script from an earlier test');
  await go(page, '/scripts');
  const row = page.locator(`tr[data-script-name="${names.echo}"]`);
  await row.waitFor();
  await row.getByRole('button', { name: 'Disable' }).click();
  await waitText(row.locator('[data-col="status"]'), 'disabled');
  let r = await apiCall('GET', `/admin/scripts/${state.echoId}`);
  assert(r.json && r.json.enabled === false, 'the server still has it enabled');
  await reload(page);
  await page.locator(`tr[data-script-name="${names.echo}"] [data-col="status"]`).waitFor();
  await waitText(page.locator(`tr[data-script-name="${names.echo}"] [data-col="status"]`), 'disabled', 'disabled after reload');
  assert(await page.locator(`tr[data-script-name="${names.echo}"] [data-action="run"]`).isHidden(), 'a disabled script offers Run in the list');
  await shot(page, '02-scripts');
  await go(page, `/scripts/${state.echoId}`);
  const toggle = page.locator('.page-head [data-action="toggle"]');
  await waitText(toggle, 'Enable');
  await page.locator('[data-note="disabled"]').waitFor();
  assert(await page.locator('#run-form').count() === 0, 'a disabled script has a run form');
  await toggle.click();
  await waitText(page.locator('.title-badges'), 'enabled');
  r = await apiCall('GET', `/admin/scripts/${state.echoId}`);
  assert(r.json && r.json.enabled === true, 'the server did not enable it');
  await page.locator('#run-form').waitFor();
});

test('edit a script; a bad value is shown next to its field', async (page) => {
  assert(state.echoId, 'needs the shell script from an earlier test');
  expectHttp(422, new RegExp(`/api/v1/admin/scripts/${state.echoId}$`));
  await go(page, `/scripts/${state.echoId}`);
  await page.locator('.page-head').getByRole('link', { name: 'Edit' }).click();
  const form = page.locator('#script-form');
  await form.waitFor();
  assert(await form.locator('[data-field="name"] input').inputValue() === names.echo, 'the form is not filled in');
  assert(await form.locator('.args-list input').count() === 2, 'the args are not loaded');
  await form.locator('[data-field="timeout_s"] input').fill('0');
  await form.getByRole('button', { name: 'Save changes' }).click();
  const err = page.locator('[data-field-error="timeout_s"]');
  await waitFor('the timeout_s error', async () => (await err.isVisible()) && (await text(err)).trim().length > 0);
  await form.locator('[data-field="timeout_s"] input').fill('60');
  await form.locator('[data-field="description"] textarea').fill('UI test: edited description');
  await form.getByRole('button', { name: 'Save changes' }).click();
  await waitFor('the script page', async () => (await page.evaluate(() => location.hash)) === `#/scripts/${state.echoId}`);
  await waitText(page.locator('main .lead'), 'edited description');
});

test('test-run with input from the script page and see stdout', async (page) => {
  assert(state.echoId, 'needs the shell script from an earlier test');
  state.echoExec = await runFromScriptPage(page, state.echoId, { who: 'world', count: 3 });
  const result = page.locator('#run-result');
  await expectFinal(result, 'succeeded', 30000);
  await waitText(result.locator('pre[data-pane="stdout"]'), 'hello world');
  await waitText(result.locator('pre[data-pane="stdout"]'), 'count=3 argv=--who world');
  await waitText(result.locator('[data-fact="exit"]'), '0');
  await waitText(result.locator('pre[data-pane="stderr"]'), 'this goes to stderr');
  await shot(page, '05-script-run');
});

test('raw JSON input mode, and an input the schema refuses', async (page) => {
  assert(state.echoId, 'needs the shell script from an earlier test');
  expectHttp(422, new RegExp(`/api/v1/scripts/${state.echoId}/executions$`));
  await go(page, `/scripts/${state.echoId}`);
  const form = page.locator('#run-form');
  await form.waitFor();
  await form.locator('input[name="who"]').fill('form');
  await form.locator('[data-action="raw-toggle"]').click();
  const raw = form.locator('textarea[name="raw-input"]');
  await raw.waitFor();
  assert((await raw.inputValue()).includes('"who": "form"'), 'raw mode does not carry the form values');
  await raw.fill('{"count": 2}');
  await form.getByRole('button', { name: 'Run', exact: true }).click();
  await waitFor('the input error', async () => /who/i.test(await text(form.locator('.raw-input .field-error'))));
  await raw.fill('{"who": "raw mode", "count": 1}');
  await form.getByRole('button', { name: 'Run', exact: true }).click();
  const result = page.locator('#run-result');
  await result.locator('a.exec-id').waitFor();
  await expectFinal(result, 'succeeded', 30000);
  await waitText(result.locator('pre[data-pane="stdout"]'), 'hello raw mode');
});

test('a stdout with <script>alert(1)</script> is rendered as text', async (page) => {
  assert(state.echoExec, 'needs the run from the previous test');
  // The app itself makes no <script>, <img> or <b>: every one added to the
  // page while it renders the execution is the markup turned into elements,
  // seen as it is added, even if it is gone again (or its alert blocked by
  // the CSP) before anyone looks.
  await page.evaluate(() => {
    const seen = [];
    const note = (records) => {
      for (const r of records) {
        for (const n of r.addedNodes) {
          if (n.nodeType !== Node.ELEMENT_NODE) continue;
          for (const el of [n, ...n.querySelectorAll('*')]) {
            if (['SCRIPT', 'IMG', 'B'].includes(el.tagName)) seen.push(el.outerHTML.slice(0, 100));
          }
        }
      }
    };
    const obs = new MutationObserver(note);
    obs.observe(document.documentElement, { childList: true, subtree: true });
    window.__markupSeen = () => { note(obs.takeRecords()); obs.disconnect(); return seen; };
  });
  await go(page, `/executions/${state.echoExec}`);
  const pane = page.locator('pre[data-pane="stdout"]');
  await waitText(pane, MARKUP, 'the markup as literal text');
  const seen = await page.evaluate(() => window.__markupSeen());
  assert(seen.length === 0, `the markup became elements: ${seen.join(', ')}`);
  assert(await pane.locator('script, b, img').count() === 0, 'the markup became elements');
  assert(await page.evaluate(() => document.querySelectorAll('main script, main img').length) === 0, 'script/img elements in the page');
});

test('executions list: open the execution and see its full log', async (page) => {
  assert(state.echoExec, 'needs the run from an earlier test');
  await go(page, '/executions');
  const row = page.locator(`#executions-table tr[data-execution-id="${state.echoExec}"]`);
  await row.waitFor({ timeout: 15000 });
  await waitText(row, names.echo);
  await shot(page, '06-executions');
  await row.getByRole('link', { name: `#${state.echoExec}` }).click();
  await waitText(page.locator('main h1'), `Execution #${state.echoExec}`);
  await waitText(page.locator('pre[data-pane="stdout"]'), 'hello world');
  await waitText(page.locator('pre[data-pane="stderr"]'), 'this goes to stderr');
  await waitText(page.locator('pre[data-pane="input"]'), '"who": "world"');
  await waitText(page.locator('[data-fact="exit"]'), '0');
  await waitText(page.locator('[data-fact="version"]'), /^[0-9a-f]{8,}/, 'the version');
  assert((await text(page.locator('[data-fact="node"]'))).trim() !== '', 'no node');
  assert((await text(page.locator('[data-fact="duration"]'))).trim() !== '—', 'no duration');
  assert(await page.locator(`.exec-head a[href="#/scripts/${state.echoId}"]`).count() === 1, 'no link to the script');
  await shot(page, '07-execution');
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 15000 }),
    page.locator('[data-download="stdout"]').click(),
  ]);
  const file = await dl.path();
  const raw = fs.readFileSync(file, 'utf8');
  assert(raw.includes('hello world') && raw.includes(MARKUP), `the downloaded stdout is ${JSON.stringify(raw.slice(0, 200))}`);
  const [dl2] = await Promise.all([
    page.waitForEvent('download', { timeout: 15000 }),
    page.locator('[data-download="stderr"]').click(),
  ]);
  assert(fs.readFileSync(await dl2.path(), 'utf8').includes('this goes to stderr'), 'the downloaded stderr is wrong');
  // The script page links to its executions.
  await go(page, `/scripts/${state.echoId}`);
  await page.locator('[data-link="executions"]').click();
  await page.locator(`#executions-table tr[data-execution-id="${state.echoExec}"]`).waitFor();
  assert(await page.locator('#x-script').inputValue() === String(state.echoId), 'the script filter is not set');
});

test('test run (wait) of the binary through the admin test endpoint', async (page) => {
  assert(state.binId, 'needs the binary from an earlier test');
  await go(page, `/scripts/${state.binId}`);
  await page.locator('#run-form').waitFor();
  await page.locator('[data-action="test-run"]').click();
  const result = page.locator('#run-result');
  await expectFinal(result, 'succeeded', 60000);
  await waitText(result.locator('pre[data-pane="stdout"]'), 'binary says hi');
  await waitText(result.locator('[data-fact="trigger"]'), 'test');
});

test('python script: runs in a venv, stdout JSON is parsed into output', async (page) => {
  await fillScriptForm(page, {
    name: names.py, type: 'python', path: files.py, description: 'UI test: python, JSON on stdout',
    inputs: { type: 'object', properties: { who: { type: 'string' } } }, outputs: { stdout: 'json' },
  });
  assert(await page.locator('[data-field="requirements"]').isVisible(), 'no requirements box for python');
  await page.locator('[data-field="requirements"] textarea').fill('# no third-party packages\n');
  state.pyId = await submitAndOpen(page);
  assert(await page.locator('.title-badges .type-python').count() === 1, 'no python type badge');
  await page.locator('[data-fact="venv"]').waitFor();
  await runFromScriptPage(page, state.pyId, { who: 'venv' });
  const result = page.locator('#run-result');
  await expectFinal(result, 'succeeded', 120000);
  await waitText(result.locator('pre[data-pane="output"]'), '"greeting": "hi venv"');
}, { timeout: 150000 });

test('venvs page lists venvs with the scripts using them, and a venv\'s build log', async (page) => {
  try {
    await venvPage(page);
  } finally {
    // A python script in the list makes the scripts page ask for venvs; keep
    // later tests independent of this one.
    if (state.pyId) { await apiCall('DELETE', `/admin/scripts/${state.pyId}`); state.pyId = null; }
  }
});

async function venvPage(page) {
  assert(state.pyId, 'needs the python script from the previous test');
  await go(page, '/venvs');
  await page.locator('#venvs-table, .empty-state').first().waitFor({ timeout: 15000 });
  await shot(page, '09-venvs');
  const link = page.locator(`#venvs-table a[href="#/scripts/${state.pyId}"]`);
  await link.waitFor();
  const row = page.locator('#venvs-table tbody tr', { has: page.locator(`a[href="#/scripts/${state.pyId}"]`) });
  await row.locator('a[href^="#/venvs/"]').first().click();
  await page.locator('pre[data-pane="build_log"]').waitFor();
  await shot(page, '09b-venv');
  // Evict it, with confirmation.
  await page.locator('[data-action="evict"]').click();
  await page.locator('dialog[open]').getByRole('button', { name: 'Evict venv' }).click();
  await waitFor('the venvs list', async () => (await page.evaluate(() => location.hash)) === '#/venvs');
  await page.locator('#venvs-table, .empty-state').first().waitFor();
  await waitFor('the evicted venv to be gone', async () => (await page.locator(`#venvs-table a[href="#/scripts/${state.pyId}"]`).count()) === 0);
}

test('a failed venv build: the run ends in error, the script page shows the build log, a rebuild mends it', async (page) => {
  const name = `ui-pybad-${RUN}`;
  // A package no index has: until the test puts its wheel in the wheelhouse.
  const pkg = `scriptorch-ui-missing-${RUN}`;
  await fillScriptForm(page, { name, type: 'python', path: files.py, description: 'UI test: unbuildable requirements' });
  await page.locator('[data-field="requirements"] textarea').fill(`${pkg}==1.0\n`);
  const id = await submitAndOpen(page);
  try {
    await runFromScriptPage(page, id, {});
    const result = page.locator('#run-result');
    const st = await waitFor('the run to finish', async () => { const v = await statusOf(result); return FINAL.has(v) ? v : false; }, 120000);
    assert(st === 'error', `the run ended ${st}, not error`);
    assert((await text(result.locator('[data-exec="error"]'))).trim() !== '', 'no error message shown');
    await go(page, '/venvs');
    const row = page.locator('#venvs-table tbody tr', { has: page.locator(`a[href="#/scripts/${id}"]`) });
    await row.waitFor();
    assert(await row.getAttribute('data-status') === 'failed', `venv status is ${await row.getAttribute('data-status')}`);
    await row.getByRole('link', { name: 'build log' }).click();
    await waitText(page.locator('pre[data-pane="build_log"]'), pkg, 'the build log', 15000);
    await shot(page, '09c-venv-failed');
    // The script page says so, with the log.
    await go(page, `/scripts/${id}`);
    const venv = page.locator('[data-panel="venv"]');
    await venv.locator('[data-venv="failed"]').waitFor();
    await waitText(venv.locator('pre[data-pane="build_log"]'), pkg, 'the build log on the script page', 15000);
    await shot(page, '09d-script-venv-failed');
    // The package becomes available; a rebuild (no waiting for the retry) mends the venv.
    const wheelhouse = process.env.SCRIPTORCH_WHEELHOUSE;
    if (!wheelhouse) throw new Failure('SCRIPTORCH_WHEELHOUSE is not set (dev/up and dev/test write it to their env)');
    execFileSync('python3', ['-c', 'import sys; sys.path.insert(0, sys.argv[1]); import mkwheel; mkwheel.make_wheel(sys.argv[2], sys.argv[3], "1.0", {sys.argv[4] + "/__init__.py": ""})',
      path.join(REPO, 'tests', 'venv'), wheelhouse, pkg, pkg.replace(/-/g, '_')]);
    await venv.locator('[data-action="rebuild"]').click();
    await waitText(venv.locator('[data-venv="note"]'), 'Rebuilt: the venv is ready.', 'the rebuild', 150000);
    assert(await venv.locator('[data-venv="failed"]').isHidden(), 'the failure is still shown');
    await waitText(venv.locator('.venv-state'), 'ready');
    await runFromScriptPage(page, id, {});
    await expectFinal(page.locator('#run-result'), 'succeeded', 60000);
  } finally {
    await apiCall('DELETE', `/admin/scripts/${id}`);
    if (process.env.SCRIPTORCH_WHEELHOUSE) {
      for (const f of fs.readdirSync(process.env.SCRIPTORCH_WHEELHOUSE)) if (f.includes(RUN)) fs.rmSync(path.join(process.env.SCRIPTORCH_WHEELHOUSE, f), { force: true });
    }
  }
}, { timeout: 400000 });

test('cancel a long run', async (page) => {
  await fillScriptForm(page, { name: names.sleep, type: 'shell', path: files.sleep, description: 'UI test: sleeps 60 s', timeout_s: 120 });
  state.sleepId = await submitAndOpen(page);
  const execId = await runFromScriptPage(page, state.sleepId, {});
  state.sleepExec = execId;
  await go(page, `/executions/${execId}`);
  await waitFor('the run to be running', async () => (await statusOf(page.locator('main'))) === 'running', 30000);
  await waitText(page.locator('pre[data-pane="stdout"]'), 'started, sleeping', 'live stdout while it runs', 10000);
  await shot(page, '08-execution-running');
  const cancel = page.locator('[data-action="cancel"]');
  assert(await cancel.isVisible(), 'no cancel button while it runs');
  // It asks first; saying no leaves the run alone.
  await cancel.click();
  let dlg = page.locator('dialog[open]');
  await dlg.waitFor();
  await dlg.getByRole('button', { name: 'Keep it running' }).click();
  await dlg.waitFor({ state: 'detached' });
  await page.waitForTimeout(500);
  const still = await apiCall('GET', `/executions/${execId}`);
  assert(still.json.status === 'running', `after "Keep it running" the execution is ${still.json.status}`);
  await cancel.click();
  dlg = page.locator('dialog[open]');
  await dlg.getByRole('button', { name: 'Cancel execution' }).click();
  await expectFinal(page.locator('main'), 'canceled', 30000);
  assert(await cancel.isHidden(), 'the cancel button is still shown');
  assert(!(await text(page.locator('pre[data-pane="stdout"]'))).includes('not canceled'), 'the script ran on');
});


// ---------------------------------------------------------------- issue 20: sessions, roles, logs, history, tokens

// Registers a script through the API (the form has tests of its own).
async function registerApi(body) {
  const r = await apiCall('POST', '/admin/scripts', body);
  assert(r.status === 201, `registering ${body.name} answered ${r.status} ${r.text}`);
  return r.json.id;
}

// Runs a script through the API and waits for its end.
async function runApi(id, input = {}, extra = {}) {
  const r = await apiCall('POST', `/scripts/${id}/executions?wait=60`, { input, ...extra });
  assert(r.status === 200 || r.status === 202, `running ${id} answered ${r.status} ${r.text}`);
  let ex = r.json;
  await waitFor(`execution ${ex.id} to end`, async () => {
    ex = (await apiCall('GET', `/executions/${ex.id}`)).json;
    return FINAL.has(ex.status);
  }, 60000, 250);
  return ex;
}

const hashOf = (page) => page.evaluate(() => location.hash);

test('a deep link opens in a new tab of the signed-in browser', async () => {
  assert(state.echoExec && state.echoId, 'needs the run from an earlier test');
  const tab = await newTab();
  await load(tab, `${BASE}/#/executions/${state.echoExec}`);
  await waitText(tab.locator('main h1'), `Execution #${state.echoExec}`);
  assert(await hashOf(tab) === `#/executions/${state.echoExec}`, `the tab shows ${await hashOf(tab)}`);
  await waitText(tab.locator('pre[data-pane="stdout"]'), 'hello world');
  // A history link with its filters, too.
  await load(tab, `${BASE}/#/executions?script_id=${state.echoId}&status=succeeded`);
  await tab.locator(`#executions-table tr[data-execution-id="${state.echoExec}"]`).waitFor();
  assert(await tab.locator('#x-st-succeeded').isChecked(), 'the status filter of the link is not applied');
});

test('a deep link in a browser that is not signed in: sign in, then the page asked for opens', async () => {
  assert(state.echoExec, 'needs the run from an earlier test');
  const p = await freshPage();
  await load(p, `${BASE}/#/executions/${state.echoExec}`);
  await waitFor('the sign-in page', async () => (await hashOf(p)) === `#/login?next=%2Fexecutions%2F${state.echoExec}`);
  await signIn(p, TOKEN);
  await waitFor('the page asked for', async () => (await hashOf(p)) === `#/executions/${state.echoExec}`);
  await waitText(p.locator('main h1'), `Execution #${state.echoExec}`);
});

test('unknown ids and addresses show a not-found page', async (page) => {
  expectHttp(404, /\/api\/v1\/executions\/999999999$/);
  expectHttp(404, /\/api\/v1\/admin\/scripts\/999999999$/);
  expectHttp(404, /\/api\/v1\/admin\/venvs\/999999999$/);
  for (const [hash, what] of [['/executions/999999999', 'execution 999999999'], ['/scripts/999999999', 'script 999999999'],
    ['/venvs/999999999', 'venv 999999999'], ['/no/such/page', '/no/such/page']]) {
    await go(page, hash);
    await page.locator('[data-page="not-found"]').waitFor();
    await waitText(page.locator('main'), what, `the not-found page of ${hash}`);
  }
  await shot(page, '15-not-found');
});

test('run again with the same input, from the execution page', async (page) => {
  assert(state.echoExec, 'needs the run from an earlier test');
  await go(page, `/executions/${state.echoExec}`);
  const again = page.locator('[data-action="rerun"]');
  await again.waitFor();
  await again.click();
  await waitFor('the new execution', async () => {
    const m = /^#\/executions\/(\d+)$/.exec(await hashOf(page));
    return m && Number(m[1]) !== state.echoExec;
  });
  const id = Number((await hashOf(page)).split('/')[2]);
  await expectFinal(page.locator('main'), 'succeeded', 30000);
  const ex = (await apiCall('GET', `/executions/${id}`)).json;
  const old = (await apiCall('GET', `/executions/${state.echoExec}`)).json;
  assert(JSON.stringify(ex.input) === JSON.stringify(old.input), `the input was ${JSON.stringify(ex.input)}, not ${JSON.stringify(old.input)}`);
  // Started from the UI: recorded as such, with the session's token name.
  assert(ex.trigger === 'ui', `the re-run's trigger is ${ex.trigger}`);
  assert(ex.triggered_by === state.adminName, `the re-run's triggered_by is ${ex.triggered_by}`);
  await waitText(page.locator('[data-fact="trigger"]'), `ui (${state.adminName})`);
});

test('ANSI colours are styled spans; no HTML from the output becomes an element', async (page) => {
  state.ansiId = await registerApi({ name: `ui-ansi-${RUN}`, type: 'shell', path: files.ansi });
  const ex = await runApi(state.ansiId);
  assert(ex.status === 'succeeded', `the run ended ${ex.status}`);
  await page.evaluate(() => {
    const seen = [];
    const note = (records) => {
      for (const r of records) {
        for (const n of r.addedNodes) {
          if (n.nodeType !== Node.ELEMENT_NODE) continue;
          for (const el of [n, ...n.querySelectorAll('*')]) {
            if (['SCRIPT', 'IMG', 'A'].includes(el.tagName) && el.closest('pre')) seen.push(el.outerHTML.slice(0, 100));
          }
        }
      }
    };
    const obs = new MutationObserver(note);
    obs.observe(document.documentElement, { childList: true, subtree: true });
    window.__markupSeen = () => { note(obs.takeRecords()); obs.disconnect(); return seen; };
  });
  await go(page, `/executions/${ex.id}`);
  const out = page.locator('pre[data-pane="stdout"]');
  await waitText(out, 'truecolor');
  const red = out.locator('span.a-f1').first();
  assert(await text(red) === 'red <img src=x onerror=alert(1)>', `the red span holds ${JSON.stringify(await text(red))}`);
  assert(await text(out.locator('span.a-bold.a-ul')) === 'bold underlined', 'no bold underlined span');
  const colours = await out.evaluate((pre) => Object.fromEntries([...pre.querySelectorAll('span')]
    .filter((s) => ['orange256', 'truecolor', 'inverse'].includes(s.textContent))
    .map((s) => [s.textContent, `${getComputedStyle(s).color} on ${getComputedStyle(s).backgroundColor}`])));
  assert(/^rgb\(255, 135, 0\)/.test(colours.orange256 || ''), `orange256 is ${colours.orange256}`);
  assert(/^rgb\(10, 200, 30\)/.test(colours.truecolor || ''), `truecolor is ${colours.truecolor}`);
  assert(/on rgb\(230, 233, 239\)$/.test(colours.inverse || ''), `inverse is ${colours.inverse}`);
  const lines = await out.locator('.ll').allTextContents();
  assert(lines[2] === '<a href="javascript:alert(4)">link</a>', `line 3 is ${JSON.stringify(lines[2])}`);
  assert(lines[3] === '<script>alert(5)</script>inverse', `line 4 is ${JSON.stringify(lines[3])}`);
  assert(lines[4] === 'progress 100%', `the progress line is ${JSON.stringify(lines[4])}`);
  const all = await text(out);
  assert(!all.includes('\x1b') && !/\[(0|31|1;4)m/.test(all), `escape sequences are shown: ${JSON.stringify(all.slice(0, 120))}`);
  // Only the viewer's own elements are in the panes: spans (and marks).
  const tags = await page.evaluate(() => [...document.querySelectorAll('pre[data-pane="stdout"] *, pre[data-pane="stderr"] *')].map((e) => e.tagName));
  assert(tags.every((t) => t === 'SPAN' || t === 'MARK'), `elements in the panes: ${[...new Set(tags)].join(', ')}`);
  const seen = await page.evaluate(() => window.__markupSeen());
  assert(seen.length === 0, `the output became elements: ${seen.join(', ')}`);
  assert(await text(page.locator('pre[data-pane="stderr"] span.a-f2')) === 'green on stderr', 'stderr is not coloured');
  state.ansiExec = ex.id;
  await shot(page, '16-ansi');
});

test('log viewer: line numbers, search with a count, end, the omitted marker, wrap, full screen', async (page) => {
  state.logId = await registerApi({ name: `ui-log-${RUN}`, type: 'shell', path: files.log, limits: { output_cap_kb: 16 } });
  const ex = await runApi(state.logId);
  assert(ex.stdout_truncated, 'the run\'s stdout was not truncated: the test needs the marker');
  const want = (ex.stdout.match(/needle/g) || []).length;
  assert(want >= 2, `only ${want} needles kept`);
  await go(page, `/executions/${ex.id}`);
  const box = page.locator('section[data-log="stdout"]');
  const pre = box.locator('pre[data-pane="stdout"]');
  await waitText(pre, 'line 1 of the log');
  assert(await box.locator('[data-truncated="stdout"]').isVisible(), 'no truncated badge');
  // Line numbers: drawn beside each line, not part of its text.
  const first = pre.locator('.ll').first();
  assert(await first.getAttribute('data-n') === '1', 'the first line is not numbered 1');
  assert(await first.evaluate((el) => getComputedStyle(el, '::before').content) === '"1"', 'no visible line number');
  assert(await text(first) === 'line 1 of the log', `line 1 reads ${JSON.stringify(await text(first))}`);
  // Search: every match counted, the current one in view.
  await box.locator('[data-log="search"]').fill('NEEDLE');
  await waitText(box.locator('[data-log="count"]'), `1 of ${want} matches`, 'the match count');
  assert(await pre.locator('mark').count() === want, `${await pre.locator('mark').count()} marks for ${want} matches`);
  const inView = (sel) => pre.evaluate((p, s) => {
    const el = p.querySelector(s);
    if (!el) return false;
    const a = p.getBoundingClientRect();
    const b = el.getBoundingClientRect();
    return b.top >= a.top - 1 && b.bottom <= a.bottom + 1;
  }, sel);
  await box.locator('[data-log="next"]').click();
  await waitText(box.locator('[data-log="count"]'), `2 of ${want} matches`);
  assert(await inView('mark.current'), 'the current match is not in view');
  await box.locator('[data-log="search"]').press('Enter');
  await waitText(box.locator('[data-log="count"]'), `${want >= 3 ? 3 : 1} of ${want} matches`, 'Enter steps to the next match');
  // The omitted part, and the end.
  const omitted = box.locator('[data-log="omitted"]');
  assert(await omitted.isVisible(), 'no button to the omitted part');
  await omitted.click();
  assert(await inView('.ll-omitted'), 'the marker is not in view');
  assert(/^\[\.\.\. \d+ bytes omitted \.\.\.\]$/.test(await text(pre.locator('.ll-omitted'))), 'the marker line is not the marker');
  await box.locator('[data-log="end"]').click();
  assert(await pre.evaluate((p) => p.scrollHeight - p.scrollTop - p.clientHeight < 4), 'End did not reach the end');
  assert(await inView('.ll:last-child'), 'the last line is not in view');
  // Wrap, full screen (Escape leaves it).
  await box.locator('[data-log="wrap"]').click();
  assert(await pre.evaluate((p) => p.classList.contains('wrap') && getComputedStyle(p).whiteSpace === 'pre-wrap'), 'wrap did not wrap');
  await box.locator('[data-log="full"]').click();
  const r = await box.evaluate((b) => { const x = b.getBoundingClientRect(); return [x.left, x.top, x.width, x.height, innerWidth, innerHeight]; });
  assert(r[0] === 0 && r[1] === 0 && Math.abs(r[2] - r[4]) < 2 && Math.abs(r[3] - r[5]) < 2, `full screen is ${r.join(',')}`);
  await shot(page, '17-log-full');
  await page.keyboard.press('Escape');
  assert(!(await box.evaluate((b) => b.classList.contains('log-full'))), 'Escape did not leave full screen');
});

test('a test run shows its output while it runs, follows it, and brings the result into view', async (page) => {
  state.tickId = await registerApi({ name: `ui-tick-${RUN}`, type: 'shell', path: files.tick, timeout_s: 60 });
  await go(page, `/scripts/${state.tickId}`);
  await page.locator('#run-form').waitFor();
  await page.locator('[data-action="test-run"]').click();
  const result = page.locator('#run-result');
  const pre = result.locator('pre[data-pane="stdout"]');
  // The test endpoint answers at the end: output seen while the run is
  // still going came from following it.
  await waitText(pre, 'tick 2 row 20', 'live output of the test run', 30000);
  assert(await statusOf(result) === 'running', `the run is ${await statusOf(result)} while its output arrives`);
  const top = await result.evaluate((el) => { const b = el.getBoundingClientRect(); return [b.top, b.bottom, innerHeight]; });
  assert(top[0] < top[2] && top[1] > 0, `the result panel is out of view (${top.join(',')})`);
  const follow = result.locator('section[data-log="stdout"] [data-log="follow"]');
  assert(await follow.getAttribute('aria-pressed') === 'true', 'a live run is not followed');
  const atEnd = () => pre.evaluate((p) => p.scrollHeight > p.clientHeight && p.scrollHeight - p.scrollTop - p.clientHeight < 4);
  await waitText(pre, 'tick 3 row 20', 'more output', 15000);
  await waitFor('the pane to follow the end', atEnd, 5000);
  // Not following: the view stays where it is while lines arrive.
  await follow.click();
  assert(await follow.getAttribute('aria-pressed') === 'false', 'Follow did not turn off');
  await pre.evaluate((p) => { p.scrollTop = 0; });
  await waitText(pre, 'tick 5 row 20', 'more output', 15000);
  assert(await pre.evaluate((p) => p.scrollTop) === 0, 'the pane moved while not following');
  await expectFinal(result, 'succeeded', 30000);
  await waitText(result.locator('[data-fact="trigger"]'), 'test');
  // Appended while it ran, drawn as a whole would be: every line once, in order.
  const lines = await pre.locator('.ll').allTextContents();
  const want = [];
  for (let i = 1; i <= 8; i += 1) for (let j = 1; j <= 20; j += 1) want.push(`tick ${i} row ${j}`);
  assert(JSON.stringify(lines) === JSON.stringify(want), `the lines shown differ from the output: ${lines.length} lines, ${JSON.stringify(lines.slice(18, 23))}`);
  const nums = await pre.locator('.ll').evaluateAll((ls) => ls.map((l) => Number(l.dataset.n)));
  assert(nums.every((n, i) => n === i + 1), 'the line numbers are not 1..160');
}, { timeout: 120000 });

test('history: filters and page in the URL survive Back, Forward and reload; errors in rows; order; counts', async (page) => {
  assert(state.echoId, 'needs the shell script from an earlier test');
  // Enough runs for two pages of 25, and one that ends in error.
  const ids = [];
  for (let i = 0; i < 27; i += 1) {
    const r = await apiCall('POST', `/scripts/${state.echoId}/executions`, { input: { who: `history ${i}` } });
    assert(r.status === 202, `a run answered ${r.status}`);
    ids.push(r.json.id);
  }
  await waitFor('the runs to end', async () => {
    for (const id of ids) if (!FINAL.has((await apiCall('GET', `/executions/${id}`)).json.status)) return false;
    return true;
  }, 90000, 500);
  const goneId = await registerApi({ name: `ui-gone-${RUN}`, type: 'shell', path: files.gone });
  fs.rmSync(files.gone);
  const gone = await runApi(goneId);
  assert(gone.status === 'error' && gone.error, `the run of a removed file ended ${gone.status}`);

  await go(page, '/executions');
  await page.locator('#executions-table').waitFor();
  await page.locator('#x-script').selectOption(String(state.echoId));
  await waitFor('the script in the URL', async () => (await hashOf(page)).includes(`script_id=${state.echoId}`));
  await page.locator('#x-status summary').click();
  await page.locator('#x-st-succeeded').check();
  await page.locator('#x-st-failed').check();
  await waitFor('the statuses in the URL', async () => (await hashOf(page)).includes('status=succeeded%2Cfailed'));
  await page.locator('#x-status summary').click();
  await page.locator('#x-limit').selectOption('25');
  await waitFor('the page size in the URL', async () => (await hashOf(page)).includes('limit=25'));
  const firstRow = () => page.locator('#executions-table tbody tr').first().getAttribute('data-execution-id');
  await waitFor('25 rows', async () => (await page.locator('#executions-table tbody tr').count()) === 25);
  const page1 = await firstRow();
  await page.locator('[data-page="next"]').click();
  await waitText(page.locator('[data-page="info"]'), 'Page 2');
  await waitFor('page 2 rows', async () => (await firstRow()) !== page1);
  const page2 = await firstRow();
  const url2 = await hashOf(page);
  assert(/cursor=/.test(url2), `page 2's URL has no cursor: ${url2}`);

  await page.goBack();
  await waitText(page.locator('[data-page="info"]'), 'Page 1');
  await waitFor('page 1 again', async () => (await firstRow()) === page1);
  assert(await page.locator('#x-st-failed').isChecked() && await page.locator('#x-limit').inputValue() === '25', 'Back lost the filters');
  await page.goBack();
  await waitFor('the page size before', async () => (await page.locator('#x-limit').inputValue()) === '50');
  await page.goForward();
  await page.goForward();
  await waitText(page.locator('[data-page="info"]'), 'Page 2');
  await waitFor('page 2 again', async () => (await firstRow()) === page2);
  assert(await hashOf(page) === url2, 'Forward did not return to page 2\'s URL');
  await reload(page);
  await waitText(page.locator('[data-page="info"]'), 'Page 2', 'page 2 after reload');
  await waitFor('page 2 after reload', async () => (await firstRow()) === page2);
  assert(await page.locator('#x-script').inputValue() === String(state.echoId), 'reload lost the script');
  assert(await page.locator('#x-st-succeeded').isChecked() && await page.locator('#x-st-failed').isChecked(), 'reload lost the statuses');
  assert(!(await page.locator('#x-st-error').isChecked()), 'reload checked a status not asked for');
  await shot(page, '18-history-page2');

  // Oldest first.
  await page.locator('#x-order').selectOption('asc');
  await waitText(page.locator('[data-page="info"]'), 'Page 1');
  await waitFor('oldest first', async () => {
    const rows = await page.locator('#executions-table tbody tr').evaluateAll((trs) => trs.map((t) => Number(t.dataset.executionId)));
    return rows.length > 1 && rows.every((v, i) => i === 0 || rows[i - 1] < v);
  });
  // A date range that matches nothing, then Back.
  await page.locator('#x-since').fill('2999-01-01T00:00');
  await page.locator('#x-since').dispatchEvent('change');
  await page.locator('.empty-state').waitFor();
  assert((await hashOf(page)).includes('since=2999'), 'the date is not in the URL');
  await page.goBack();
  await page.locator('#executions-table').waitFor();
  // Counts of what matches, and the error of a run in its row.
  await load(page, `${BASE}/#/executions?script_id=${goneId}`);
  const row = page.locator(`#executions-table tr[data-execution-id="${gone.id}"]`);
  await row.waitFor();
  await waitText(row.locator('[data-col="error"]'), gone.error.slice(0, 30), 'the error in the row');
  await waitText(page.locator('[data-count="total"]'), '1 execution', 'the count of matches');
  await waitText(page.locator('[data-count="error"]'), '1', 'the count of errors');
  // The echo script's counts, against the server's.
  await load(page, `${BASE}/#/executions?script_id=${state.echoId}&status=succeeded,failed`);
  const c = (await apiCall('GET', `/executions/counts?script_id=${state.echoId}`)).json;
  await waitText(page.locator('[data-count="total"]'), `${c.counts.succeeded + c.counts.failed} executions of ${c.total}`, 'the counts of the statuses chosen');
  await waitText(page.locator('[data-count="succeeded"]'), String(c.counts.succeeded));
  // A chip narrows the list to its status.
  await page.locator('[data-count="succeeded"]').click();
  await waitFor('the succeeded filter alone', async () => (await hashOf(page)).includes('status=succeeded') && !(await hashOf(page)).includes('failed'));
  assert(!(await page.locator('#x-st-failed').isChecked()), 'the chip left failed checked');
  await apiCall('DELETE', `/admin/scripts/${goneId}`);
}, { timeout: 180000 });

test('per script: the success rate and a chart of the last runs\' durations', async (page) => {
  assert(state.echoId, 'needs the shell script from an earlier test');
  const c = (await apiCall('GET', `/executions/counts?script_id=${state.echoId}`)).json;
  const runs = (await apiCall('GET', `/executions/durations?script_id=${state.echoId}&limit=50`)).json.durations;
  assert(c.total > 0 && runs.length > 1, 'the script has too few runs for this test');
  await go(page, `/scripts/${state.echoId}`);
  const stats = page.locator('[data-stats="script"]');
  const chart = stats.locator('svg[data-chart="durations"]');
  await chart.waitFor();
  const shown = (await text(stats.locator('[data-stat="rate"]'))).trim();
  const p = c.success_rate * 100;
  assert(shown === `${p === 100 || p === 0 ? p.toFixed(0) : p.toFixed(1)} %`, `the rate shows ${shown}, the server says ${c.success_rate}`);
  await waitText(stats, `${c.total} in all`, 'the number of runs');
  // One bar per run, oldest on the left; the longest run has the tallest bar.
  const bars = await chart.locator('rect.bar').evaluateAll((rs) => rs.map((r) => [Number(r.dataset.executionId), Number(r.getAttribute('height')), Number(r.getAttribute('x'))]));
  assert(JSON.stringify(bars.map((b) => b[0])) === JSON.stringify(runs.map((r) => r.id)), 'the bars are not the last runs, oldest first');
  assert(bars.every((b, i) => i === 0 || bars[i - 1][2] < b[2]), 'the bars are not left to right');
  const tallest = bars.reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  const longest = runs.filter((e) => e.duration_ms != null).reduce((a, b) => (b.duration_ms > a.duration_ms ? b : a));
  assert(tallest === longest.id, `the tallest bar is #${tallest}, the longest run #${longest.id}`);
  assert(/Durations of the last \d+ runs/.test(await chart.getAttribute('aria-label')), 'the chart has no text alternative');
  await shot(page, '19-script-stats');
});

test('a viewer sees no write actions, and a refusal says so once', async () => {
  assert(state.echoId && state.echoExec, 'needs the script and run from earlier tests');
  const v = await makeToken('viewer');
  const p = await freshPage();
  await load(p, `${BASE}/#/scripts`);
  await signIn(p, v.token);
  await waitText(p.locator('#whoami'), `signed in as ${v.name} (viewer)`);
  await p.locator('#scripts-table').waitFor();
  const none = async (sel, what) => assert(await p.locator(sel).count() === 0, `a viewer is offered ${what}`);
  await none('[data-action="register"]', 'Register');
  await none('[data-action="toggle"]', 'Disable/Enable');
  await none('#scripts-table [data-action="run"]', 'Run');
  assert(await p.locator('.mainnav a[data-nav="tokens"]').isHidden(), 'a viewer has a Tokens link');
  await go(p, `/scripts/${state.echoId}`);
  await p.locator('[data-note="role"]').waitFor();
  await none('[data-action="edit"]', 'Edit');
  await none('[data-action="toggle"]', 'Disable');
  await none('[data-action="delete"]', 'Delete');
  await none('#run-form', 'a run form');
  await none('[data-action="test-run"]', 'Test run');
  await go(p, `/executions/${state.echoExec}`);
  await p.locator('pre[data-pane="stdout"] .ll').first().waitFor();
  assert(await p.locator('[data-action="rerun"]').isHidden(), 'a viewer is offered a re-run');
  assert(await p.locator('[data-action="cancel"]').isHidden(), 'a viewer is offered cancel');
  await go(p, '/venvs');
  await p.locator('#venvs-table, .empty-state').first().waitFor();
  await none('[data-action="evict"]', 'Evict');
  for (const hash of ['/scripts/new', '/tokens', `/scripts/${state.echoId}/edit`]) {
    await go(p, hash);
    await p.locator('[data-page="not-allowed"]').waitFor();
  }
  await shot(p, '20-viewer-not-allowed');
  // The server's refusal, as the UI words it: the role named once.
  expectHttp(403, new RegExp(`/api/v1/admin/scripts/${state.echoId}$`));
  const msg = await p.evaluate(async (id) => {
    const m = await import('/js/api.js');
    try { await m.api.updateScript(id, { enabled: false }); return 'no refusal'; } catch (e) { return e.friendly; }
  }, state.echoId);
  assert(/viewer/.test(msg) && (msg.match(/may not/g) || []).length === 1, `the 403 reads ${JSON.stringify(msg)}`);
});

test('an operator runs and cancels, and is offered no admin action', async () => {
  assert(state.tickId, 'needs the tick script from an earlier test');
  const o = await makeToken('operator');
  const p = await freshPage();
  await load(p, `${BASE}/#/scripts/${state.tickId}`);
  await signIn(p, o.token);
  await waitFor('the script page asked for', async () => (await hashOf(p)) === `#/scripts/${state.tickId}`);
  const form = p.locator('#run-form');
  await form.waitFor();
  for (const sel of ['[data-action="edit"]', '[data-action="toggle"]', '[data-action="delete"]', '[data-action="test-run"]']) {
    assert(await p.locator(sel).count() === 0, `an operator is offered ${sel}`);
  }
  await form.getByRole('button', { name: 'Run', exact: true }).click();
  const result = p.locator('#run-result');
  await waitText(result.locator('pre[data-pane="stdout"]'), 'tick 1 row 1', 'the run\'s output', 30000);
  const id = Number((await result.locator('a.exec-id').getAttribute('href')).split('/')[2]);
  await result.locator('[data-action="cancel"]').click();
  await p.locator('dialog[open]').getByRole('button', { name: 'Cancel execution' }).click();
  await expectFinal(result, 'canceled', 30000);
  const ex = (await apiCall('GET', `/executions/${id}`)).json;
  assert(ex.trigger === 'ui' && ex.triggered_by === o.name, `recorded as ${ex.trigger} by ${ex.triggered_by}`);
}, { timeout: 120000 });

test('tokens page: create (shown once, copied), last use, revoke with confirmation', async (page) => {
  const name = `ui-tok-${RUN}`;
  await go(page, '/tokens');
  const form = page.locator('#token-form');
  await form.waitFor();
  await form.locator('[data-field="name"] input').fill(name);
  await form.locator('[data-field="role"] select').selectOption('viewer');
  await form.getByRole('button', { name: 'Create token' }).click();
  const created = page.locator('#token-created');
  await created.waitFor();
  const value = await page.locator('#new-token').inputValue();
  assert(value.length >= 20, `the token shown is ${JSON.stringify(value)}`);
  await created.locator('[data-action="copy"]').click();
  await waitText(created, 'Copied.');
  assert(await page.evaluate(() => navigator.clipboard.readText()) === value, 'the clipboard does not hold the token');
  await shot(page, '21-token-created');
  const row = page.locator(`#tokens-table tr[data-token-name="${name}"]`);
  await row.waitFor();
  (state.tokenIds ||= []).push(Number(await row.getAttribute('data-token-id')));
  await waitText(row.locator('[data-col="last-used"]'), 'never');
  // The token works, and its use shows.
  const me = await fetch(`${BASE}/api/v1/session`, { headers: { Authorization: `Bearer ${value}` } });
  assert(me.status === 200 && (await me.json()).role === 'viewer', `the new token answered ${me.status}`);
  await reload(page);
  await waitFor('its last use', async () => !/never/.test(await text(page.locator(`#tokens-table tr[data-token-name="${name}"] [data-col="last-used"]`))));
  assert(!(await page.content()).includes(value), 'the token is shown again');
  // Revoke: asked first; no changes nothing.
  await page.locator(`#tokens-table tr[data-token-name="${name}"] [data-action="revoke"]`).click();
  let dlg = page.locator('dialog[open]');
  await dlg.getByRole('button', { name: 'Cancel' }).click();
  await dlg.waitFor({ state: 'detached' });
  assert((await fetch(`${BASE}/api/v1/session`, { headers: { Authorization: `Bearer ${value}` } })).status === 200, 'Cancel revoked it');
  await page.locator(`#tokens-table tr[data-token-name="${name}"] [data-action="revoke"]`).click();
  dlg = page.locator('dialog[open]');
  await dlg.getByRole('button', { name: 'Revoke token' }).click();
  await waitFor('the revoked token to leave the list', async () => (await page.locator(`#tokens-table tr[data-token-name="${name}"]`).count()) === 0);
  await page.locator('#t-revoked').check();
  await waitText(page.locator(`#tokens-table tr[data-token-name="${name}"]`), 'revoked');
  assert((await fetch(`${BASE}/api/v1/session`, { headers: { Authorization: `Bearer ${value}` } })).status === 401, 'the revoked token still works');
});

test('tokens page: with two tokens of one name, "this session" marks the one signed in with (by id)', async () => {
  // Names are not unique: the page must tell the two apart by the id
  // GET /api/v1/session answers. Each of the two signs in in a browser of
  // its own, the older and the newer, so that neither "the first" nor
  // "the last of that name" passes for both.
  const name = `ui-twin-${RUN}`;
  const twins = [];
  for (let i = 0; i < 2; i += 1) {
    const r = await apiCall('POST', '/admin/tokens', { name, role: 'admin' });
    assert(r.status === 201 && r.json && r.json.token, `POST /admin/tokens answered ${r.status} ${r.text}`);
    (state.tokenIds ||= []).push(r.json.id);
    twins.push(r.json);
  }
  for (const [i, me] of twins.entries()) {
    const other = twins[1 - i];
    const p = await freshPage();
    await load(p, `${BASE}/#/tokens`);
    await signIn(p, me.token);
    const mine = p.locator(`#tokens-table tr[data-token-id="${me.id}"]`);
    const theirs = p.locator(`#tokens-table tr[data-token-id="${other.id}"]`);
    await mine.waitFor();
    await theirs.waitFor();
    assert(await p.locator(`#tokens-table tr[data-token-name="${name}"]`).count() === 2, 'the two tokens of one name are not both listed');
    assert(await mine.getAttribute('data-mine') === 'true' && (await text(mine)).includes('(this session)'),
      `the ${i ? 'newer' : 'older'} token signed in with is not marked as this session`);
    assert(await theirs.getAttribute('data-mine') === 'false' && !(await text(theirs)).includes('(this session)'),
      `the other token of the same name is marked as this session (signed in with the ${i ? 'newer' : 'older'})`);
    assert(await p.locator('#tokens-table tr[data-mine="true"]').count() === 1, 'more than one token is marked as this session');
    // Revoking the session's own token is warned of; the other one's is not.
    await theirs.locator('[data-action="revoke"]').click();
    let dlg = p.locator('dialog[open]');
    await dlg.waitFor();
    assert(!(await text(dlg)).includes('this session'), 'revoking the other token warns that it ends this session');
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    await dlg.waitFor({ state: 'detached' });
    await mine.locator('[data-action="revoke"]').click();
    dlg = p.locator('dialog[open]');
    await dlg.waitFor();
    await waitText(dlg, 'That includes this session', 'the warning that revoking ends this session');
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    await dlg.waitFor({ state: 'detached' });
    if (i === 1) await shot(p, '21b-token-this-session');
  }
  for (const t of twins) {
    const r = await fetch(`${BASE}/api/v1/session`, { headers: { Authorization: `Bearer ${t.token}` } });
    assert(r.status === 200, `Cancel revoked token ${t.id}`);
  }
});

test('registration: every invalid field is shown at once, and an error goes when its field is fixed', async (page) => {
  expectHttp(422, /\/api\/v1\/admin\/scripts$/);
  await fillScriptForm(page, { name: 'Bad Name!', type: 'shell', path: '/definitely/not/a/script/root/x.sh', timeout_s: '0' });
  await page.locator('#script-form [data-field="timeout_s"] input').fill('0');
  await page.locator('#script-form').getByRole('button', { name: 'Register script' }).click();
  const err = (k) => page.locator(`[data-field-error="${k}"]`);
  await waitFor('three field errors at once', async () => (await err('name').isVisible()) && (await err('path').isVisible()) && (await err('timeout_s').isVisible()));
  await waitText(page.locator('#form-error'), '3 fields need fixing');
  await shot(page, '22-all-errors');
  await page.locator('#script-form [data-field="name"] input').fill(`ui-fixed-${RUN}`);
  assert(await err('name').isHidden(), 'the name error stays after the name was fixed');
  assert(await err('path').isVisible() && await err('timeout_s').isVisible(), 'fixing the name hid the other errors');
  assert(await page.locator('#script-form [data-field="name"] input[aria-invalid="true"]').count() === 0, 'the name is still marked invalid');
});

test('registration form: the type follows the file name, and the script roots are shown', async (page) => {
  await go(page, '/scripts');
  await go(page, '/scripts/new'); // a new form, not the one of the test before
  const form = page.locator('#script-form');
  await form.waitFor();
  const type = form.locator('[data-field="type"] select');
  const pathIn = form.locator('[data-field="path"] input');
  await pathIn.fill(`${ROOT}/tool.py`);
  assert(await type.inputValue() === 'python', 'a .py file is not guessed python');
  assert(await form.locator('[data-field="requirements"]').isVisible(), 'no requirements for the guessed python');
  await pathIn.fill(`${ROOT}/tool.sh`);
  assert(await type.inputValue() === 'shell', 'a .sh file is not guessed shell');
  await type.selectOption('binary');
  await pathIn.fill(`${ROOT}/other.py`);
  assert(await type.inputValue() === 'binary', 'a type chosen by hand was replaced by a guess');
  await waitText(form.locator('[data-roots]'), ROOT, 'the configured script root');
  assert(await form.locator(`[data-roots] li[data-usable="true"]`).count() >= 1, 'no usable script root shown');
  assert((await pathIn.getAttribute('placeholder') || '').startsWith(ROOT.replace(/\/+$/, '')), 'the path placeholder is not a configured root');
});

test('registration form: typing the path of a python file with no extension selects python, from its #! line', async (page) => {
  await go(page, '/scripts');
  await go(page, '/scripts/new');
  const form = page.locator('#script-form');
  await form.waitFor();
  const type = form.locator('[data-field="type"] select');
  const pathIn = form.locator('[data-field="path"] input');
  const info = form.locator('[data-path-info]');
  const asked = [];
  const onRequest = (r) => { if (/\/api\/v1\/admin\/scripts\/inspect$/.test(r.url())) asked.push(r.postDataJSON()); };
  page.on('request', onRequest);
  try {
    // A file that does not exist: the server's refusal shows beside the
    // path, and the name's guess stays.
    const missing = `${ROOT}/ui-no-such-${RUN}.py`;
    await pathIn.fill(missing);
    await waitFor('the refusal of a missing file', async () => (await info.getAttribute('data-state')) === 'refused');
    await waitText(info, 'does not exist');
    assert(await type.inputValue() === 'python', 'the name\'s guess went with the refusal');
    // Typed key by key: the name alone says binary (no extension), the
    // file's #! line says python.
    await pathIn.fill('');
    const before = asked.length;
    await pathIn.pressSequentially(files.pytool, { delay: 15 });
    await waitFor('python from the file\'s #! line', async () => (await type.inputValue()) === 'python'
      && (await form.locator('[data-type-guess][data-source="file"]').count()) === 1, 20000);
    await waitText(info.locator('[data-magic]'), 'Python script', 'libmagic\'s description beside the path');
    assert((await info.getAttribute('data-state')) === 'found', 'the file is not shown as found');
    assert(await form.locator('[data-field="requirements"]').isVisible(), 'no requirements for the python found');
    assert(await info.locator('[data-problems]').count() === 0, 'problems shown for a file that has none');
    const typed = asked.slice(before);
    assert(typed.length >= 1 && typed[typed.length - 1].path === files.pytool, `the last look was at ${JSON.stringify(typed.at(-1))}`);
    assert(typed.length <= files.pytool.length / 4, `${typed.length} looks for ${files.pytool.length} keys: not debounced`);
    await shot(page, '23-path-inspected');
    // A type picked by hand stays; the file is still described.
    await type.selectOption('shell');
    await pathIn.fill(files.bin);
    await waitText(info.locator('[data-magic]'), 'ELF', 'libmagic\'s description of the ELF');
    assert(await type.inputValue() === 'shell', 'a type chosen by hand was replaced by the file\'s');
  } finally {
    page.off('request', onRequest);
  }
});

test('the run form hints an enum\'s values', async (page) => {
  state.enumId = await registerApi({
    name: `ui-enum-${RUN}`, type: 'shell', path: files.echo,
    inputs: { type: 'object', required: ['who'], properties: { who: { type: 'string' }, speed: { enum: ['fast', 'slow'] } } },
  });
  await go(page, `/scripts/${state.enumId}`);
  const f = page.locator('#run-form select[name="speed"]').locator('xpath=..');
  await f.waitFor();
  const help = await text(f.locator('.help'));
  assert(help.includes('one of: fast, slow') && !help.includes('any JSON'), `the enum's hint is ${JSON.stringify(help)}`);
});

test('an execution shows its callback deliveries', async (page) => {
  if (noDeliveriesRoute) throw new Skip('this daemon has no deliveries endpoint yet');
  assert(state.echoId, 'needs the shell script from an earlier test');
  const ex = await runApi(state.echoId, { who: 'callback' }, { callback_url: `${BASE}/no-such-hook` });
  await go(page, `/executions/${ex.id}`);
  const panel = page.locator('[data-panel="deliveries"]');
  await waitFor('the deliveries panel', () => panel.isVisible(), 20000);
  await waitText(panel, `${BASE}/no-such-hook`);
  // A run without a callback shows no panel.
  await go(page, `/executions/${state.echoExec}`);
  await page.locator('pre[data-pane="stdout"] .ll').first().waitFor();
  await waitFor('the requests to end', () => inflight.size === 0);
  assert(await panel.isHidden(), 'a run without callbacks shows a deliveries panel');
});

test('accessibility: axe-core finds no WCAG A/AA violation on the main pages', async (page) => {
  assert(state.echoId && state.ansiExec, 'needs the scripts and runs of earlier tests');
  const pages = [['/scripts', '#scripts-table'], [`/scripts/${state.echoId}`, '#run-form'], ['/scripts/new', '#script-form'],
    [`/executions/${state.ansiExec}`, 'pre[data-pane="stdout"] .ll'], [`/executions?script_id=${state.echoId}&status=succeeded,failed`, '#executions-table'],
    ['/venvs', '#venvs-table, .empty-state'], ['/tokens', '#tokens-table']];
  const found = [];
  for (const [hash, sel] of pages) {
    await go(page, hash);
    await page.locator(sel).first().waitFor();
    await waitFor(`the requests of ${hash} to end`, () => inflight.size === 0);
    found.push(...(await axeCheck(page)).map((v) => `${hash}: ${v}`));
    // No "null", "undefined" or "[object Object]" written where a part was absent.
    const stray = await page.evaluate(() => {
      const out = [];
      const w = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
      for (let n = w.nextNode(); n; n = w.nextNode()) {
        if (/^(null|undefined|\[object Object\]|NaN)$/.test(n.nodeValue.trim()) && !n.parentElement.closest('pre')) out.push(n.nodeValue.trim());
      }
      return out;
    });
    for (const x of stray) found.push(`${hash}: a stray "${x}" in the page`);
  }
  const p = await freshPage();
  await load(p, `${BASE}/#/login`);
  found.push(...(await axeCheck(p)).map((v) => `sign-in: ${v}`));
  assert(!found.length, found.join('; '));
}, { timeout: 150000 });

test('a phone (375 px): pages and their tables fit without scrolling sideways', async (page) => {
  assert(state.echoId && state.echoExec, 'needs the shell script and its run from earlier tests');
  await page.setViewportSize({ width: 375, height: 812 });
  const pages = [['/scripts', '#scripts-table, .empty-state', '10-scripts-narrow']];
  pages.push([`/scripts/${state.echoId}`, '#run-form', '11-script-narrow']);
  pages.push([`/executions/${state.echoExec}`, 'pre[data-pane="stdout"]', '12-execution-narrow']);
  pages.push(['/executions', '#executions-table, .empty-state', '13-executions-narrow']);
  pages.push(['/scripts/new', '#script-form', '14-script-form-narrow']);
  pages.push(['/tokens', '#tokens-table', '14b-tokens-narrow']);
  pages.push(['/venvs', '#venvs-table, .empty-state', '14c-venvs-narrow']);
  const over = [];
  for (const [hash, sel, name] of pages) {
    await go(page, hash);
    await page.locator(sel).first().waitFor();
    // Measured once the view's data has arrived and has been drawn: no API
    // request in flight, then the next frame.
    await waitFor(`the requests of ${hash} to end`, () => inflight.size === 0);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const w = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    if (w[0] > w[1] + 1) over.push(`${hash}: ${w[0]} px wide in ${w[1]} px`);
    // A table that scrolls inside its box is no better on a phone.
    const wide = await page.evaluate(() => [...document.querySelectorAll('.table-wrap')]
      .filter((el) => el.scrollWidth > el.clientWidth + 1).map((el) => `${el.scrollWidth} px in ${el.clientWidth} px`));
    for (const x of wide) over.push(`${hash}: a table ${x}`);
    await shot(page, name);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  assert(!over.length, over.join('; '));
});

test('delete a script, with confirmation', async (page) => {
  assert(state.binId, 'needs the binary from an earlier test');
  await go(page, `/scripts/${state.binId}`);
  const del = page.locator('[data-action="delete"]');
  await del.click();
  const dlg = page.locator('dialog[open]');
  await dlg.waitFor();
  await dlg.getByRole('button', { name: 'Cancel' }).click();
  await dlg.waitFor({ state: 'detached' });
  assert((await apiCall('GET', `/admin/scripts/${state.binId}`)).status === 200, 'canceling the dialog deleted the script');
  await del.click();
  await page.locator('dialog[open]').getByRole('button', { name: 'Delete script' }).click();
  await waitFor('the scripts list', async () => (await page.evaluate(() => location.hash)).startsWith('#/scripts') && (await page.evaluate(() => location.hash)) !== `#/scripts/${state.binId}`);
  await page.locator('#scripts-table, .empty-state').first().waitFor();
  assert(await page.locator(`tr[data-script-name="${names.bin}"]`).count() === 0, 'the deleted script is still listed');
  const r = await apiCall('GET', `/admin/scripts/${state.binId}`);
  assert(r.status === 404, `GET after delete answered ${r.status}`);
  state.binId = null;
});

// The Marketplace page's tests (tests/ui/marketplace.mjs), before sign-out.
marketplaceTests.register({ test, assert, waitFor, waitText, load, go, shot, expectHttp, apiCall, text, inflight, RUN, BASE, TOKEN });

test('sign out ends the session', async (page) => {
  await go(page, '/scripts');
  await page.locator('#scripts-table, .empty-state').first().waitFor();
  await page.locator('#signout').click();
  await waitFor('#/login', async () => (await page.evaluate(() => location.hash)).startsWith('#/login'));
  assert(await page.locator('#whoami').isHidden(), 'still says who is signed in');
  // The server ended it: the browser's cookie no longer signs anything in.
  const st = await page.evaluate(() => fetch('/api/v1/session', { headers: { 'X-Requested-With': 'scriptorch' } }).then((r) => r.status));
  assert(st === 401, `GET /session after sign-out answered ${st}`);
  await page.evaluate(() => { location.hash = '#/executions'; });
  await waitFor('the redirect to sign in', async () => (await page.evaluate(() => location.hash)) === '#/login?next=%2Fexecutions');
});

// ---------------------------------------------------------------- main
async function main() {
  writeScripts();
  // A daemon without the deliveries endpoint (API.md "Completion
  // callbacks") answers "no route": the UI then shows no deliveries.
  const probe = await fetch(`${BASE}/api/v1/executions/1/deliveries`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  noDeliveriesRoute = probe.status === 404 && /no route/.test(await probe.text());
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const context = await browser.newContext(CONTEXT_OPTIONS);
  mainContext = context;
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ORIGIN });
  await watchContext(context);
  const page = watchPage(await context.newPage(), { main: true });

  const selected = tests.filter((t) => !ONLY || ONLY.test(t.name));
  let n = 0;
  let failed = 0;
  let skipped = 0;
  for (const t of selected) {
    n += 1;
    problems = [];
    expected = [];
    let err = null;
    const started = Date.now();
    try {
      await Promise.race([
        t.fn(page),
        new Promise((_, rej) => setTimeout(() => rej(new Failure(`test timed out after ${t.timeout} ms`)), t.timeout)),
      ]);
      await page.waitForTimeout(100); // let late console messages arrive
    } catch (e) {
      err = e;
    }
    await closeSessions();
    const issues = [...problems];
    if (err instanceof Skip && !issues.length) {
      skipped += 1;
      console.log(`ok ${n} - ${t.name} # SKIP ${err.message}`);
    } else if (err || issues.length) {
      failed += 1;
      console.log(`not ok ${n} - ${t.name}`);
      console.log('  ---');
      if (err) console.log(`  error: ${JSON.stringify(err instanceof Failure ? err.message : String(err.stack || err))}`);
      for (const p of issues) console.log(`  problem: ${JSON.stringify(p)}`);
      console.log(`  url: ${JSON.stringify(page.url())}`);
      console.log('  ...');
      try { await shot(page, `fail-${String(n).padStart(2, '0')}`); } catch { /* ignore */ }
    } else {
      console.log(`ok ${n} - ${t.name}`);
      console.log(`# ${Date.now() - started} ms`);
    }
  }
  console.log(`1..${n}`);
  await browser.close();

  // Cleanup of what the tests registered (their executions stay, as the contract says).
  for (const id of [state.echoId, state.sleepId, state.binId, state.pyId, state.ansiId, state.logId, state.tickId, state.enumId].filter(Boolean)) {
    try { await apiCall('DELETE', `/admin/scripts/${id}`); } catch { /* ignore */ }
  }
  for (const id of state.tokenIds || []) {
    try { await apiCall('DELETE', `/admin/tokens/${id}`); } catch { /* ignore */ }
  }
  removeScripts();
  console.log(`# screenshots in ${path.relative(process.cwd(), ARTIFACTS) || ARTIFACTS}`);
  if (skipped) console.log(`# ${skipped} skipped`);
  if (failed) console.log(`# ${failed} of ${n} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.log(`Bail out! ${e && e.stack ? e.stack.split('\n')[0] : e}`);
  removeScripts();
  process.exit(2);
});
