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
  for (const f of [files.echo, files.sleep, files.bin]) fs.chmodSync(f, 0o755);
}

function removeScripts() {
  for (const f of [files.echo, files.sleep, files.bin, files.py]) fs.rmSync(f, { force: true });
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
const isExpected = (status, url) => expected.some((e) => e.status === status && e.re.test(url));

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

async function go(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, `#${hash}`);
  await page.waitForFunction((h) => location.hash.split('?')[0] === h.split('?')[0], `#${hash}`);
}

function watch(context, page) {
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
  page.on('request', (r) => { if (r.url().startsWith(`${BASE}/api/`)) inflight.add(r); });
  page.on('requestfinished', (r) => inflight.delete(r));
  page.on('requestfailed', (r) => {
    inflight.delete(r);
    const u = r.url();
    if (u.startsWith('blob:') || u.startsWith('data:')) return;
    problems.push(`request failed: ${r.method()} ${u}: ${r.failure() ? r.failure().errorText : '?'}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !isExpected(r.status(), r.url())) {
      problems.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
    }
  });
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
    if (/https?:\/\/|\/\/[a-z0-9-]+\.[a-z]{2,}\//i.test(src.replace(/\/\/ .*$/gm, ''))) bad.push(`${rel}: absolute URL`);
    if (f.endsWith('.html')) {
      if (/<script(?![^>]*\bsrc=)[^>]*>/i.test(src)) bad.push(`${rel}: inline <script>`);
      if (/<style/i.test(src) || /\sstyle=/i.test(src)) bad.push(`${rel}: inline style`);
      if (/\son[a-z]+\s*=/i.test(src)) bad.push(`${rel}: inline event handler`);
    }
    if (f.endsWith('.js') && /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function/.test(src)) bad.push(`${rel}: HTML/code injection API`);
  }
  assert(!bad.length, bad.join('; '));
});

test('the site sends a CSP with default-src \'self\'', async (page) => {
  const res = await load(page, `${BASE}/`);
  const csp = res.headers()['content-security-policy'] || '';
  assert(/default-src 'self'/.test(csp), `Content-Security-Policy is ${JSON.stringify(csp)}`);
});

test('sign-in page: an unknown token gets a clear 401 message', async (page) => {
  expectHttp(401, /\/api\/v1\/executions/);
  await load(page, `${BASE}/`);
  await waitFor('#/login', async () => (await page.evaluate(() => location.hash)) === '#/login');
  await page.locator('#token').fill('not-a-real-token-0000');
  await page.locator('#token').press('Enter');
  await waitText(page.locator('#login-error'), 'not accepted', 'the 401 message');
  assert(!(await page.evaluate(() => sessionStorage.length)), 'a refused token was stored');
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
  const st = await page.evaluate(() => ({ s: Object.values(sessionStorage), l: Object.values(localStorage) }));
  assert(st.s.includes(TOKEN), 'the token is not in sessionStorage');
  assert(!st.l.includes(TOKEN), 'the token leaked into localStorage');
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
  await load(page, page.url());
  await page.locator(`tr[data-script-name="${names.echo}"] [data-col="status"]`).waitFor();
  await waitText(page.locator(`tr[data-script-name="${names.echo}"] [data-col="status"]`), 'disabled', 'disabled after reload');
  await shot(page, '02-scripts');
  await go(page, `/scripts/${state.echoId}`);
  const toggle = page.locator('.page-head [data-action="toggle"]');
  await waitText(toggle, 'Enable');
  await toggle.click();
  await waitText(page.locator('.title-badges'), 'enabled');
  r = await apiCall('GET', `/admin/scripts/${state.echoId}`);
  assert(r.json && r.json.enabled === true, 'the server did not enable it');
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

test('a failed venv build: the run ends in error and the build log is shown', async (page) => {
  const name = `ui-pybad-${RUN}`;
  await fillScriptForm(page, { name, type: 'python', path: files.py, description: 'UI test: unbuildable requirements' });
  await page.locator('[data-field="requirements"] textarea').fill('definitely-not-a-package-scriptorch-ui==9.9.9\n');
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
    await waitText(page.locator('pre[data-pane="build_log"]'), 'definitely-not-a-package-scriptorch-ui', 'the build log', 15000);
    await shot(page, '09c-venv-failed');
  } finally {
    await apiCall('DELETE', `/admin/scripts/${id}`);
  }
}, { timeout: 180000 });

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
  await cancel.click();
  await expectFinal(page.locator('main'), 'canceled', 30000);
  assert(await cancel.isHidden(), 'the cancel button is still shown');
  assert(!(await text(page.locator('pre[data-pane="stdout"]'))).includes('not canceled'), 'the script ran on');
});


test('narrow window: pages fit without horizontal scrolling', async (page) => {
  assert(state.echoId && state.echoExec, 'needs the shell script and its run from earlier tests');
  await page.setViewportSize({ width: 390, height: 844 });
  const pages = [['/scripts', '#scripts-table, .empty-state', '10-scripts-narrow']];
  pages.push([`/scripts/${state.echoId}`, '#run-form', '11-script-narrow']);
  pages.push([`/executions/${state.echoExec}`, 'pre[data-pane="stdout"]', '12-execution-narrow']);
  pages.push(['/executions', '#executions-table, .empty-state', '13-executions-narrow']);
  pages.push(['/scripts/new', '#script-form', '14-script-form-narrow']);
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

test('sign out clears the token', async (page) => {
  await go(page, '/scripts');
  await page.locator('#signout').click();
  await waitFor('#/login', async () => (await page.evaluate(() => location.hash)) === '#/login');
  assert(!(await page.evaluate(() => sessionStorage.length)), 'sessionStorage still holds something');
  await page.evaluate(() => { location.hash = '#/executions'; });
  await waitFor('the redirect to sign in', async () => (await page.evaluate(() => location.hash)) === '#/login');
});

// ---------------------------------------------------------------- main
async function main() {
  writeScripts();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  await watch(context, page);

  const selected = tests.filter((t) => !ONLY || ONLY.test(t.name));
  let n = 0;
  let failed = 0;
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
    const issues = [...problems];
    if (err || issues.length) {
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
  for (const id of [state.echoId, state.sleepId, state.binId, state.pyId].filter(Boolean)) {
    try { await apiCall('DELETE', `/admin/scripts/${id}`); } catch { /* ignore */ }
  }
  removeScripts();
  console.log(`# screenshots in ${path.relative(process.cwd(), ARTIFACTS) || ARTIFACTS}`);
  if (failed) console.log(`# ${failed} of ${n} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.log(`Bail out! ${e && e.stack ? e.stack.split('\n')[0] : e}`);
  removeScripts();
  process.exit(2);
});
