// One script: details, enable/disable, delete, test run, recent executions, versions.
import { h, replace, typeBadge, enabledBadge, statusBadge, confirmDialog } from '../dom.js';
import { api, ApiError } from '../api.js';
import { timeEl, hashEl, duration, bytes, json, ACTIVE } from '../format.js';
import { schemaForm } from '../schema-form.js';
import { executionPanel, follow } from '../execution-panel.js';

export async function render(ctx) {
  const id = ctx.params.id;
  let s = await api.script(id);
  if (!ctx.alive()) return;

  const title = h('h1', null);
  const badges = h('span', { class: 'title-badges' });
  const toggle = h('button', { type: 'button', class: 'btn', dataset: { action: 'toggle' } });
  const del = h('button', { type: 'button', class: 'btn btn-danger', dataset: { action: 'delete' } }, 'Delete…');
  const details = h('dl', { class: 'facts facts-wide' });
  const paintHead = () => {
    replace(title, s.name);
    replace(badges, typeBadge(s.type), ' ', enabledBadge(s.enabled));
    toggle.textContent = s.enabled ? 'Disable' : 'Enable';
    replace(details, describe(s));
  };
  paintHead();

  toggle.addEventListener('click', async () => {
    toggle.disabled = true;
    try {
      s = { ...s, ...(await api.updateScript(s.id, { enabled: !s.enabled })) };
      paintHead();
      ctx.flash(`${s.name} is now ${s.enabled ? 'enabled' : 'disabled'}.`, 'info');
    } catch (e) { ctx.fail(e, 'Could not change the script: '); }
    toggle.disabled = false;
  });
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

  // --- run panel ---
  const form = schemaForm(s.inputs, {});
  const runBtn = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { action: 'run' } }, 'Run');
  const testBtn = h('button', { type: 'button', class: 'btn', dataset: { action: 'test-run' }, title: 'POST …/test: runs now and waits for the end' }, 'Test run (wait)');
  const runNote = h('p', { class: 'muted', role: 'status' });
  const resultBox = h('div', { class: 'run-result', id: 'run-result' });
  let stopFollow = null;
  let panel = null;

  const showExecution = (ex, live) => {
    if (stopFollow) stopFollow();
    panel = executionPanel(ctx, { compact: true });
    replace(resultBox, panel);
    panel.update(ex);
    if (live && ACTIVE.has(ex.status)) {
      stopFollow = follow(ctx, ex.id, panel, { interval: 700, onFinal: () => { runNote.textContent = ''; loadRecent(); } });
    }
    loadRecent();
  };

  const start = async (mode) => {
    form.clearErrors();
    let input;
    try { input = form.value(); } catch { return; }
    runBtn.disabled = true; testBtn.disabled = true;
    runNote.textContent = mode === 'test' ? 'Running (test, waiting for the end)…' : 'Queued…';
    try {
      if (mode === 'test') {
        const ex = await api.testRun(s.id, input);
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
      runNote.textContent = '';
      if (e instanceof ApiError && e.status === 422) form.showError(e.field || '', e.message);
      else if (e instanceof ApiError && e.status === 409) form.showError('', `Cannot run: ${e.message}`);
      else ctx.fail(e, 'Could not start the run: ');
    }
    runBtn.disabled = false; testBtn.disabled = false;
  };
  const runForm = h('form', { class: 'run-form', novalidate: true, id: 'run-form' }, form,
    h('div', { class: 'actions' }, runBtn, testBtn, runNote));
  runForm.addEventListener('submit', (ev) => { ev.preventDefault(); start('live'); });
  testBtn.addEventListener('click', () => start('test'));

  // --- recent executions ---
  const recent = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  const loadRecent = async () => {
    try {
      const r = await api.executions({ script_id: s.id, limit: 10 });
      if (!ctx.alive()) return;
      replace(recent, miniExecTable(r.executions || []));
    } catch (e) {
      if (ctx.alive()) replace(recent, h('p', { class: 'muted' }, `Could not load executions: ${e.message}`));
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

  ctx.root.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/scripts' }, 'Scripts'), ' / ', s.name),
    h('div', { class: 'page-head' },
      h('div', { class: 'title-row' }, title, badges),
      h('div', { class: 'actions' },
        h('a', { class: 'btn', href: `#/scripts/${s.id}/edit` }, 'Edit'),
        toggle,
        h('a', { class: 'btn', href: `#/executions?script_id=${s.id}`, dataset: { link: 'executions' } }, 'Executions'),
        del)),
    s.description ? h('p', { class: 'lead' }, s.description) : null,
    h('div', { class: 'two-col' },
      h('section', { class: 'card', 'aria-labelledby': 'run-h' },
        h('h2', { id: 'run-h' }, 'Test run'),
        runForm),
      h('section', { class: 'card', 'aria-labelledby': 'det-h' },
        h('h2', { id: 'det-h' }, 'Definition'),
        details)),
    resultBox,
    h('section', { class: 'card', 'aria-labelledby': 'rec-h' },
      h('div', { class: 'section-head' }, h('h2', { id: 'rec-h' }, 'Recent executions'),
        h('a', { href: `#/executions?script_id=${s.id}` }, 'All executions of this script →')),
      recent),
    h('section', { class: 'card', 'aria-labelledby': 'ver-h' }, h('h2', { id: 'ver-h' }, 'Version history'), versions));
  loadRecent();
}

function describe(s) {
  const item = (label, value, key) => [h('dt', null, label), h('dd', { dataset: { fact: key } }, value)];
  const code = (v) => (v === undefined || v === null || (typeof v === 'object' && !Array.isArray(v) && !Object.keys(v).length)
    ? h('span', { class: 'muted' }, '—') : h('pre', { class: 'inline-pre' }, json(v)));
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
    s.type === 'python' ? item('Requirements', s.requirements ? h('pre', { class: 'inline-pre' }, s.requirements) : h('span', { class: 'muted' }, 'none'), 'requirements') : null,
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
  return h('table', { class: 'grid' },
    h('thead', null, h('tr', null, ['Execution', 'Status', 'Trigger', 'Started', 'Duration'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, list.map((ex) => h('tr', { dataset: { executionId: ex.id } },
      h('td', null, h('a', { href: `#/executions/${ex.id}` }, `#${ex.id}`)),
      h('td', null, statusBadge(ex.status)),
      h('td', null, ex.trigger || '—'),
      h('td', null, timeEl(ex.started_at || ex.queued_at)),
      h('td', { class: 'num' }, duration(ex.duration_ms))))));
}
