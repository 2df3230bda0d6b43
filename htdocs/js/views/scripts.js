// Script registry list with filters, last run and venv state.
import { h, replace, typeBadge, enabledBadge, statusBadge } from '../dom.js';
import { api } from '../api.js';
import { timeEl, hashEl } from '../format.js';

export async function render(ctx) {
  const q = ctx.query;
  const typeSel = h('select', { id: 'f-type', name: 'type' },
    ['', 'shell', 'python', 'binary'].map((t) => h('option', { value: t, selected: (q.type || '') === t }, t || 'All types')));
  const statusSel = h('select', { id: 'f-enabled', name: 'enabled' },
    [['', 'Any status'], ['true', 'Enabled'], ['false', 'Disabled']].map(([v, l]) => h('option', { value: v, selected: (q.enabled || '') === v }, l)));
  const text = h('input', { id: 'f-q', name: 'q', type: 'search', value: q.q || '', placeholder: 'name, description, path', autocomplete: 'off' });
  const count = h('span', { class: 'muted', role: 'status' });
  const body = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));

  ctx.root.append(
    h('div', { class: 'page-head' },
      h('h1', null, 'Scripts'),
      ctx.can.admin ? h('a', { class: 'btn btn-primary', href: '#/scripts/new', dataset: { action: 'register' } }, 'Register script') : null),
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter scripts' },
      h('label', null, h('span', null, 'Type'), typeSel),
      h('label', null, h('span', null, 'Status'), statusSel),
      h('label', { class: 'grow' }, h('span', null, 'Search'), text),
      count),
    body);

  let seq = 0;
  const load = async () => {
    const filt = { type: typeSel.value, enabled: statusSel.value, q: text.value.trim() };
    const hq = new URLSearchParams(Object.entries(filt).filter(([, v]) => v)).toString();
    history.replaceState(null, '', `#/scripts${hq ? `?${hq}` : ''}`);
    const my = ++seq;
    let scripts;
    try {
      scripts = await api.scripts(filt);
    } catch (e) {
      if (my === seq && ctx.alive()) { replace(body, h('p', { class: 'muted' }, 'Could not load scripts.')); ctx.fail(e); }
      return;
    }
    if (my !== seq || !ctx.alive()) return;
    scripts = applyFilters(scripts, filt);
    count.textContent = `${scripts.length} script${scripts.length === 1 ? '' : 's'}`;
    renderTable(ctx, body, scripts);
  };

  let timer = null;
  text.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(load, 250); });
  typeSel.addEventListener('change', load);
  statusSel.addEventListener('change', load);
  ctx.root.querySelector('form.filters').addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
  ctx.onCleanup(() => clearTimeout(timer));
  await load();
}

// The server filters too; this keeps the view right whatever it supports.
function applyFilters(list, f) {
  const needle = f.q.toLowerCase();
  return list.filter((s) => (!f.type || s.type === f.type)
    && (!f.enabled || String(Boolean(s.enabled)) === f.enabled)
    && (!needle || [s.name, s.description, s.path].some((v) => v && String(v).toLowerCase().includes(needle))));
}

function renderTable(ctx, body, scripts) {
  if (!scripts.length) {
    replace(body, h('p', { class: 'empty-state' }, 'No scripts match.',
      ctx.can.admin ? [' ', h('a', { href: '#/scripts/new' }, 'Register one'), '.'] : null));
    return;
  }
  const lastCells = new Map();
  const venvCells = new Map();
  const rows = scripts.map((s) => {
    const lastCell = h('td', { dataset: { col: 'last-run', label: 'Last run' } }, h('span', { class: 'muted' }, '…'));
    const venvCell = h('td', { dataset: { col: 'venv', label: 'Venv' } }, s.type === 'python' ? h('span', { class: 'muted' }, '…') : h('span', { class: 'muted' }, '—'));
    lastCells.set(s.id, lastCell);
    if (s.type === 'python') venvCells.set(s.id, venvCell);
    const statusCell = h('td', { dataset: { col: 'status', label: 'Status' } }, enabledBadge(s.enabled));
    // Run is offered for enabled scripts to roles that may run them;
    // Enable/Disable to admins.
    const runLink = h('a', { class: 'btn btn-small btn-quiet', href: `#/scripts/${s.id}`, 'aria-label': `Run ${s.name}`, dataset: { action: 'run' }, hidden: !s.enabled || !ctx.can.run }, 'Run…');
    let toggle = null;
    if (ctx.can.admin) {
      toggle = h('button', { type: 'button', class: 'btn btn-small', dataset: { action: 'toggle' } }, s.enabled ? 'Disable' : 'Enable');
      toggle.addEventListener('click', async () => {
        toggle.disabled = true;
        try {
          const upd = await api.updateScript(s.id, { enabled: !s.enabled });
          s.enabled = upd && typeof upd.enabled === 'boolean' ? upd.enabled : !s.enabled;
          replace(statusCell, enabledBadge(s.enabled));
          toggle.textContent = s.enabled ? 'Disable' : 'Enable';
          runLink.hidden = !s.enabled || !ctx.can.run;
          ctx.flash(`${s.name} is now ${s.enabled ? 'enabled' : 'disabled'}.`, 'info');
        } catch (e) { ctx.fail(e, `Could not change ${s.name}: `); }
        toggle.disabled = false;
      });
    }
    const actions = toggle || ctx.can.run ? h('td', { class: 'actions-cell', dataset: { label: 'Actions' } }, toggle, ' ', runLink) : null;
    return h('tr', { dataset: { scriptId: s.id, scriptName: s.name } },
      h('td', { dataset: { col: 'name', label: 'Name' } },
        h('a', { href: `#/scripts/${s.id}`, class: 'strong' }, s.name),
        s.description ? h('div', { class: 'sub' }, s.description) : null),
      h('td', { dataset: { col: 'type', label: 'Type' } }, typeBadge(s.type)),
      statusCell,
      h('td', { dataset: { col: 'version', label: 'Version' } }, hashEl(s.version)),
      venvCell,
      lastCell,
      actions);
  });
  const cols = ['Name', 'Type', 'Status', 'Version', 'Venv', 'Last run'];
  if (ctx.can.run || ctx.can.admin) cols.push('Actions');
  replace(body, h('table', { class: 'grid stack', id: 'scripts-table' },
    h('thead', null, h('tr', null,
      cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows)));

  fillLastRuns(ctx, scripts, lastCells);
  if (venvCells.size) fillVenvs(ctx, venvCells);
}

function lastRunContent(ex) {
  if (!ex) return h('span', { class: 'muted' }, 'never');
  return h('a', { href: `#/executions/${ex.id}`, class: 'lastrun', title: `Execution #${ex.id}` },
    statusBadge(ex.status), ' ', timeEl(ex.started_at || ex.queued_at, { compact: true }));
}

async function fillLastRuns(ctx, scripts, cells) {
  const found = new Map();
  for (const s of scripts) if (s.last_execution !== undefined) found.set(s.id, s.last_execution);
  let missing = scripts.filter((s) => !found.has(s.id));
  try {
    if (missing.length) {
      const r = await api.executions({ limit: 500 });
      for (const ex of (r && r.executions) || []) if (!found.has(ex.script_id)) found.set(ex.script_id, ex);
      const complete = !(r && r.next_cursor);
      missing = missing.filter((s) => !found.has(s.id));
      if (complete) { for (const s of missing) found.set(s.id, null); missing = []; }
    }
    // Older runs: ask per script, a few at a time.
    const queue = missing.slice(0, 200);
    const worker = async () => {
      while (queue.length && ctx.alive()) {
        const s = queue.shift();
        const r = await api.executions({ script_id: s.id, limit: 1 });
        const ex = r && r.executions && r.executions[0];
        found.set(s.id, ex || null);
        if (ctx.alive()) replace(cells.get(s.id), lastRunContent(ex));
      }
    };
    if (ctx.alive()) for (const s of scripts) if (found.has(s.id)) replace(cells.get(s.id), lastRunContent(found.get(s.id)));
    await Promise.all([worker(), worker(), worker(), worker()]);
  } catch (e) {
    if (!ctx.alive()) return;
    for (const s of scripts) if (!found.has(s.id)) replace(cells.get(s.id), h('span', { class: 'muted', title: e.message }, '?'));
  }
}

async function fillVenvs(ctx, cells) {
  try {
    const venvs = await api.venvs();
    if (!ctx.alive()) return;
    const byScript = new Map();
    for (const v of venvs) for (const sid of v.scripts || []) byScript.set(Number(sid), v);
    for (const [sid, cell] of cells) {
      const v = byScript.get(Number(sid));
      replace(cell, v ? h('a', { href: `#/venvs/${v.id}`, 'aria-label': `Venv ${v.status}` }, statusBadge(v.status))
        : h('span', { class: 'muted', title: 'Built on first run' }, 'not built'));
    }
  } catch (e) {
    if (!ctx.alive()) return;
    for (const cell of cells.values()) replace(cell, h('span', { class: 'muted', title: e.message }, '?'));
  }
}
