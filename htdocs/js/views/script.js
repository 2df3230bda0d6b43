// One script: details, enable/disable, delete, run and test run (followed
// live), its run statistics, recent executions, venv and versions. Only
// the actions the signed-in role may take are offered.
import { h, append, replace, typeBadge, enabledBadge, statusBadge, confirmDialog } from '../dom.js';
import { api, ApiError } from '../api.js';
import { timeEl, hashEl, duration, bytes, json, ACTIVE } from '../format.js';
import { schemaForm } from '../schema-form.js';
import { executionPanel, follow, secretKeys } from '../execution-panel.js';
import { logViewer } from '../log-viewer.js';
import { scriptStats } from '../chart.js';

export async function render(ctx) {
  const id = ctx.params.id;
  let s = await api.script(id);
  if (!ctx.alive()) return;
  const admin = ctx.can.admin;

  const title = h('h1', null);
  const badges = h('span', { class: 'title-badges' });
  const toggle = admin ? h('button', { type: 'button', class: 'btn', dataset: { action: 'toggle' } }) : null;
  const del = admin ? h('button', { type: 'button', class: 'btn btn-danger', dataset: { action: 'delete' } }, 'Delete…') : null;
  const details = h('dl', { class: 'facts facts-wide' });
  const runCard = h('section', { class: 'card', 'aria-labelledby': 'run-h' });
  const paintHead = () => {
    replace(title, s.name);
    replace(badges, typeBadge(s.type), ' ', enabledBadge(s.enabled));
    if (toggle) toggle.textContent = s.enabled ? 'Disable' : 'Enable';
    replace(details, describe(s));
    paintRunCard();
  };

  if (toggle) {
    toggle.addEventListener('click', async () => {
      toggle.disabled = true;
      try {
        s = { ...s, ...(await api.updateScript(s.id, { enabled: !s.enabled })) };
        paintHead();
        ctx.flash(`${s.name} is now ${s.enabled ? 'enabled' : 'disabled'}.`, 'info');
      } catch (e) { ctx.fail(e, 'Could not change the script: '); }
      toggle.disabled = false;
    });
  }
  if (del) {
    del.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: `Delete ${s.name}?`,
        message: 'The script is removed from the registry. Its executions stay readable. This cannot be undone.',
        confirmLabel: 'Delete script',
        danger: true,
      });
      if (!ok) { del.focus(); return; }
      try {
        await api.deleteScript(s.id);
        ctx.flash(`Deleted ${s.name}.`, 'info', { next: true });
        ctx.navigate('/scripts');
      } catch (e) { ctx.fail(e, 'Could not delete: '); }
    });
  }

  // --- run panel ---
  const form = schemaForm(s.inputs, {});
  const runBtn = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { action: 'run' } }, 'Run');
  const testBtn = admin ? h('button', { type: 'button', class: 'btn', dataset: { action: 'test-run' }, title: 'Runs now as a test and waits for the end; the output shows as it comes' }, 'Test run') : null;
  const runNote = h('p', { class: 'muted', role: 'status' });
  const resultBox = h('div', { class: 'run-result', id: 'run-result', tabindex: '-1' });
  let stopFollow = null;
  let panel = null;
  let testSeq = 0;

  // The result panel, brought into view (it is below the form).
  const reveal = () => {
    const smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    resultBox.scrollIntoView({ block: 'start', behavior: smooth ? 'smooth' : 'auto' });
  };

  const showExecution = (ex, live) => {
    if (stopFollow) { stopFollow(); stopFollow = null; }
    if (!panel || !panel.current() || panel.current().id !== ex.id) {
      panel = executionPanel(ctx, { compact: true, rerun: rerunHere });
      replace(resultBox, panel);
      reveal();
    }
    panel.update(ex);
    if (live && ACTIVE.has(ex.status)) {
      stopFollow = follow(ctx, ex.id, panel, { interval: 700, onFinal: () => { runNote.textContent = ''; loadRecent(); } });
    }
    loadRecent();
  };

  // A test run answers only at its end: meanwhile its execution is found
  // (the newest test run of this script that is newer than the one before
  // the click) and followed like any other, so its output shows live.
  const newestTestId = async () => {
    const r = await api.executions({ script_id: s.id, trigger: 'test', limit: 1 });
    const ex = r && r.executions && r.executions[0];
    return ex ? ex.id : 0;
  };
  const watchTestRun = (before, my) => {
    let stop = false;
    const tick = async () => {
      if (stop || my !== testSeq || !ctx.alive()) return;
      try {
        const r = await api.executions({ script_id: s.id, trigger: 'test', limit: 1 });
        const ex = r && r.executions && r.executions[0];
        if (ex && ex.id > before) {
          const full = await api.execution(ex.id);
          if (stop || my !== testSeq || !ctx.alive()) return;
          runNote.textContent = 'Test run going: its output shows as it comes…';
          showExecution(full, true);
          return;
        }
      } catch (e) { if (e.status === 401) return; }
      setTimeout(tick, 500);
    };
    setTimeout(tick, 300);
    return () => { stop = true; };
  };

  const start = async (mode, inputOverride) => {
    form.clearErrors();
    let input = inputOverride;
    if (input === undefined) { try { input = form.value(); } catch { return; } }
    runBtn.disabled = true; if (testBtn) testBtn.disabled = true;
    runNote.textContent = mode === 'test' ? 'Test run: starting…' : 'Queued…';
    let stopWatch = null;
    try {
      if (mode === 'test') {
        const my = ++testSeq;
        const before = await newestTestId();
        stopWatch = watchTestRun(before, my);
        const ex = await api.testRun(s.id, input);
        stopWatch();
        // 202: not ended within the wait, or the node had too many
        // requests waiting already (docs/api.md): follow it live.
        const going = ACTIVE.has(ex.status);
        runNote.textContent = going ? 'Still going: following the execution live…' : '';
        if (ctx.alive()) showExecution(ex, going);
      } else {
        const ex = await api.startExecution(s.id, input);
        runNote.textContent = 'Following the execution live…';
        if (ctx.alive()) showExecution(ex, true);
      }
    } catch (e) {
      if (stopWatch) stopWatch();
      runNote.textContent = '';
      if (e instanceof ApiError && e.status === 422) {
        for (const fe of e.errors.length ? e.errors : [{ field: e.field, message: e.message }]) form.showError(fe.field || '', fe.message);
      } else if (e instanceof ApiError && e.status === 409) form.showError('', `Cannot run: ${e.message}`);
      else ctx.fail(e, 'Could not start the run: ');
    }
    runBtn.disabled = false; if (testBtn) testBtn.disabled = false;
  };

  // Run again with an execution's input: at once, unless a secret input
  // was stored masked; then the form is filled for the secret to be typed.
  const rerunHere = async (ex) => {
    const secrets = secretKeys(s.inputs).filter((k) => ex.input && ex.input[k] === '***');
    form.reset(withoutKeys(ex.input || {}, secrets));
    if (secrets.length) {
      form.showError(`input.${secrets[0]}`, `Type ${secrets.join(', ')} again: secret inputs are not kept.`);
      return;
    }
    await start('live', ex.input || {});
  };

  const runForm = h('form', { class: 'run-form', novalidate: true, id: 'run-form' }, form,
    h('div', { class: 'actions' }, runBtn, testBtn, runNote));
  runForm.addEventListener('submit', (ev) => { ev.preventDefault(); start('live'); });
  if (testBtn) testBtn.addEventListener('click', () => start('test'));

  function paintRunCard() {
    if (!ctx.can.run) {
      replace(runCard, h('h2', { id: 'run-h' }, 'Run'),
        h('p', { class: 'muted', dataset: { note: 'role' } }, `Your role (${ctx.session.role}) may not run scripts.`));
    } else if (!s.enabled) {
      replace(runCard, h('h2', { id: 'run-h' }, 'Run'),
        h('p', { class: 'notice', dataset: { note: 'disabled' } }, 'This script is disabled: it cannot be run.',
          admin ? ' Enable it to run it.' : ''));
    } else {
      replace(runCard, h('h2', { id: 'run-h' }, 'Run'), runForm);
    }
  }

  // --- statistics, recent executions ---
  const stats = h('div', { class: 'stats', dataset: { stats: 'script' } }, h('p', { class: 'muted' }, 'Loading…'));
  const recent = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  let recentSeq = 0;
  const loadRecent = async () => {
    const my = ++recentSeq;
    try {
      const [r, st] = await Promise.all([api.executions({ script_id: s.id, limit: 10 }), scriptStats(s.id)]);
      if (!ctx.alive() || my !== recentSeq) return;
      replace(recent, miniExecTable(r.executions || []));
      replace(stats, st);
    } catch (e) {
      if (ctx.alive() && my === recentSeq) replace(recent, h('p', { class: 'muted' }, `Could not load executions: ${e.message}`));
    }
  };

  // --- versions and venv ---
  const versions = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  api.versions(s.id).then((vs) => {
    if (!ctx.alive()) return;
    replace(versions, vs.length
      ? h('ol', { class: 'versions' }, vs.map((v, i) => h('li', null, hashEl(v.version, 16), ' ', timeEl(v.recorded_at), i === 0 ? h('span', { class: 'badge st-ok' }, 'current') : null)))
      : h('p', { class: 'muted' }, 'No versions recorded.'));
  }).catch((e) => { if (ctx.alive()) replace(versions, h('p', { class: 'muted' }, `Could not load versions: ${e.message}`)); });
  const venvCard = s.type === 'python' ? venvSection(ctx, s) : null;

  paintHead();
  append(ctx.root, // (append() skips the absent parts; Element.append would write "null")
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/scripts' }, 'Scripts'), ' / ', s.name),
    h('div', { class: 'page-head' },
      h('div', { class: 'title-row' }, title, badges),
      h('div', { class: 'actions' },
        admin ? h('a', { class: 'btn', href: `#/scripts/${s.id}/edit`, dataset: { action: 'edit' } }, 'Edit') : null,
        toggle,
        h('a', { class: 'btn', href: `#/executions?script_id=${s.id}`, dataset: { link: 'executions' } }, 'Executions'),
        del)),
    s.description ? h('p', { class: 'lead' }, s.description) : null,
    h('div', { class: 'two-col' },
      runCard,
      h('section', { class: 'card', 'aria-labelledby': 'det-h' },
        h('h2', { id: 'det-h' }, 'Definition'),
        details)),
    resultBox,
    venvCard,
    h('section', { class: 'card', 'aria-labelledby': 'stats-h' },
      h('h2', { id: 'stats-h' }, 'Last runs'), stats),
    h('section', { class: 'card', 'aria-labelledby': 'rec-h' },
      h('div', { class: 'section-head' }, h('h2', { id: 'rec-h' }, 'Recent executions'),
        h('a', { href: `#/executions?script_id=${s.id}` }, 'All executions of this script →')),
      recent),
    h('section', { class: 'card', 'aria-labelledby': 'ver-h' }, h('h2', { id: 'ver-h' }, 'Version history'), versions));
  loadRecent();

  // #/scripts/7?rerun=123: the form filled with that execution's input.
  if (ctx.query.rerun && ctx.can.run && s.enabled) {
    try {
      const ex = await api.execution(ctx.query.rerun);
      if (ctx.alive() && ex.script_id === s.id) {
        const secrets = secretKeys(s.inputs);
        form.reset(withoutKeys(ex.input || {}, secrets));
        runNote.textContent = `Filled with the input of execution #${ex.id}${secrets.length ? `; type ${secrets.join(', ')} again (secret)` : ''}.`;
      }
    } catch (e) { if (ctx.alive()) ctx.fail(e, 'Could not load that execution\'s input: '); }
  }
}

function withoutKeys(obj, keys) {
  const out = { ...obj };
  for (const k of keys) delete out[k];
  return out;
}

// The script's venv: its state; for a failed build the build log; for
// admins a rebuild (POST /admin/venvs/{id}/rebuild waits for the build
// and answers the venv as it left it, log included).
function venvSection(ctx, s) {
  const body = h('div', null);
  const card = h('section', { class: 'card', 'aria-labelledby': 'venv-h', dataset: { panel: 'venv' } },
    h('h2', { id: 'venv-h' }, 'Python venv'), body);
  let v = s.venv;
  if (!v) {
    replace(body, h('p', { class: 'muted' }, 'Not built yet: it is built on the first run.'));
    return card;
  }
  const state = h('p', { class: 'venv-state' });
  const note = h('p', { class: 'muted', role: 'status', dataset: { venv: 'note' } });
  const failed = h('p', { class: 'exec-error', role: 'alert', hidden: true, dataset: { venv: 'failed' } },
    'The last build of this venv failed: runs of the script end in error until it builds. The log says why.');
  const log = logViewer('Build log', { name: 'build_log', empty: '(no build log recorded)' });
  log.hidden = true;
  let rebuild = null;
  if (ctx.can.admin) {
    rebuild = h('button', { type: 'button', class: 'btn', dataset: { action: 'rebuild' } }, 'Rebuild venv');
    rebuild.addEventListener('click', async () => {
      rebuild.disabled = true;
      note.textContent = 'Building… (this waits for the build, up to a few minutes)';
      try {
        const nv = await api.rebuildVenv(v.id);
        if (!ctx.alive()) return;
        paint(nv);
        note.textContent = nv.status === 'ready' ? 'Rebuilt: the venv is ready.' : `The rebuild ended ${nv.status}.`;
      } catch (e) {
        note.textContent = '';
        if (e instanceof ApiError && (e.status === 409 || e.status === 429)) ctx.flash(`Cannot rebuild now: ${e.message}.`, 'error');
        else ctx.fail(e, 'Could not rebuild the venv: ');
      }
      rebuild.disabled = false;
    });
  }
  const paint = (nv) => {
    v = { ...v, ...nv };
    replace(state, statusBadge(v.status), ' ', h('a', { href: `#/venvs/${v.id}` }, 'venv ', hashEl(v.key, 12)),
      v.build_seconds != null ? ` · ${v.status === 'failed' ? 'the build took' : 'built in'} ${duration(v.build_seconds * 1000)}` : '');
    failed.hidden = v.status !== 'failed';
    log.hidden = v.status !== 'failed';
    if (nv.build_log !== undefined) log.update(nv.build_log || '', false);
  };
  replace(body, h('div', { class: 'section-head' }, state, rebuild), failed, note, log);
  paint(v);
  if (v.status === 'failed') {
    api.venv(v.id).then((full) => { if (ctx.alive()) paint(full); })
      .catch((e) => { if (ctx.alive()) ctx.fail(e, 'Could not load the build log: '); });
  }
  return card;
}

function describe(s) {
  const item = (label, value, key) => [h('dt', null, label), h('dd', { dataset: { fact: key } }, value)];
  const code = (v) => (v === undefined || v === null || (typeof v === 'object' && !Array.isArray(v) && !Object.keys(v).length)
    ? h('span', { class: 'muted' }, '—') : h('pre', { class: 'inline-pre', tabindex: '0' }, json(v))); // scrolls: reachable by keyboard
  const venv = s.venv;
  return [
    item('Path', h('code', { class: 'wrap-any' }, s.path), 'path'),
    item('Version', h('code', { class: 'hash wrap-any', title: s.version || '' }, s.version || '—'), 'version'),
    item('Arguments', s.args && s.args.length ? h('code', { class: 'wrap-any' }, JSON.stringify(s.args)) : h('span', { class: 'muted' }, 'none'), 'args'),
    item('Input mode', s.input_mode || 'both', 'input_mode'),
    item('Inputs', code(s.inputs), 'inputs'),
    item('Outputs', code(s.outputs), 'outputs'),
    item('Environment', code(s.env), 'env'),
    item('Timeout', s.timeout_s != null ? `${s.timeout_s} s` : '—', 'timeout_s'),
    item('Max concurrency', s.max_concurrency == null ? 'no limit' : String(s.max_concurrency), 'max_concurrency'),
    s.type === 'python' ? item('Requirements', s.requirements ? h('pre', { class: 'inline-pre', tabindex: '0' }, s.requirements) : h('span', { class: 'muted' }, 'none'), 'requirements') : null,
    s.type === 'python' ? item('Venv', venv ? h('span', null,
      h('a', { href: `#/venvs/${venv.id}` }, statusBadge(venv.status)), ' ', hashEl(venv.key),
      venv.size_bytes != null ? ` · ${bytes(venv.size_bytes)}` : '',
      venv.build_seconds != null ? ` · built in ${duration(venv.build_seconds * 1000)}` : '')
      : h('span', { class: 'muted' }, 'not built yet (built on first run)'), 'venv') : null,
    item('Created', timeEl(s.created_at), 'created_at'),
    item('Updated', timeEl(s.updated_at), 'updated_at'),
  ];
}

export function miniExecTable(list) {
  if (!list.length) return h('p', { class: 'muted' }, 'No executions yet.');
  return h('table', { class: 'grid stack' },
    h('thead', null, h('tr', null, ['Execution', 'Status', 'Trigger', 'Started', 'Duration'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, list.map((ex) => h('tr', { dataset: { executionId: ex.id } },
      h('td', { dataset: { label: 'Execution' } }, h('a', { href: `#/executions/${ex.id}` }, `#${ex.id}`)),
      h('td', { dataset: { label: 'Status' } }, statusBadge(ex.status),
        ex.error ? h('div', { class: 'row-error', title: ex.error }, clip(ex.error)) : null),
      h('td', { dataset: { label: 'Trigger' } }, ex.trigger || '—'),
      h('td', { dataset: { label: 'Started' } }, timeEl(ex.started_at || ex.queued_at)),
      h('td', { class: 'num', dataset: { label: 'Duration' } }, duration(ex.duration_ms))))));
}

export function clip(t, n = 140) {
  const s = String(t).replace(/\s+/g, ' ').trim();
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
