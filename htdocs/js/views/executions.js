// Executions across scripts: filters and cursor paging.
import { h, replace, statusBadge } from '../dom.js';
import { api } from '../api.js';
import { timeEl, duration, EXEC_STATUSES, TRIGGERS, ACTIVE } from '../format.js';

function toLocalInput(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export async function render(ctx) {
  const q = ctx.query;
  const scriptSel = h('select', { id: 'x-script', name: 'script_id' }, h('option', { value: '' }, 'All scripts'));
  if (q.script_id) scriptSel.appendChild(h('option', { value: q.script_id, selected: true }, `script ${q.script_id}`));
  const statusSel = h('select', { id: 'x-status', name: 'status' }, h('option', { value: '' }, 'Any status'),
    EXEC_STATUSES.map((s) => h('option', { value: s, selected: q.status === s }, s.replace('_', ' '))));
  const trig = new Set(TRIGGERS);
  if (q.trigger) trig.add(q.trigger);
  const trigSel = h('select', { id: 'x-trigger', name: 'trigger' }, h('option', { value: '' }, 'Any trigger'),
    [...trig].map((t) => h('option', { value: t, selected: q.trigger === t }, t)));
  const since = h('input', { id: 'x-since', name: 'since', type: 'datetime-local', value: toLocalInput(q.since) });
  const limitSel = h('select', { id: 'x-limit', name: 'limit' },
    ['25', '50', '100', '200'].map((n) => h('option', { value: n, selected: (q.limit || '50') === n }, n)));
  const auto = h('input', { type: 'checkbox', id: 'x-auto', checked: true });
  const body = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  const prev = h('button', { type: 'button', class: 'btn btn-small', disabled: true, dataset: { page: 'prev' } }, '← Newer');
  const next = h('button', { type: 'button', class: 'btn btn-small', disabled: true, dataset: { page: 'next' } }, 'Older →');
  const pageInfo = h('span', { class: 'muted', role: 'status' });
  const refresh = h('button', { type: 'button', class: 'btn btn-small btn-quiet' }, 'Refresh');

  ctx.root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Executions'),
      h('div', { class: 'actions' }, h('label', { class: 'inline' }, auto, ' Auto-refresh while runs are active'), refresh)),
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter executions' },
      h('label', null, h('span', null, 'Script'), scriptSel),
      h('label', null, h('span', null, 'Status'), statusSel),
      h('label', null, h('span', null, 'Trigger'), trigSel),
      h('label', null, h('span', null, 'Since'), since),
      h('label', null, h('span', null, 'Per page'), limitSel)),
    body,
    h('div', { class: 'pager' }, prev, pageInfo, next));

  // Fill the script filter with names (best effort).
  api.scripts().then((list) => {
    if (!ctx.alive()) return;
    const cur = scriptSel.value;
    replace(scriptSel, h('option', { value: '' }, 'All scripts'),
      list.slice().sort((a, b) => a.name.localeCompare(b.name)).map((s) => h('option', { value: String(s.id), selected: String(s.id) === cur }, s.name)));
    if (cur && !list.some((s) => String(s.id) === cur)) scriptSel.appendChild(h('option', { value: cur, selected: true }, `script ${cur} (deleted)`));
  }).catch(() => { /* the filter still works by id */ });

  let cursors = [];   // cursors of pages before the current one
  let cursor = '';    // cursor of the current page ('' = newest)
  let nextCursor = null;
  let timer = null;
  let seq = 0;

  const filters = () => {
    const f = { script_id: scriptSel.value, status: statusSel.value, trigger: trigSel.value, limit: limitSel.value };
    if (since.value) { const d = new Date(since.value); if (!Number.isNaN(d.getTime())) f.since = d.toISOString(); }
    return f;
  };

  const load = async () => {
    clearTimeout(timer);
    const f = filters();
    const hq = new URLSearchParams(Object.entries(f).filter(([k, v]) => v && !(k === 'limit' && v === '50'))).toString();
    history.replaceState(null, '', `#/executions${hq ? `?${hq}` : ''}`);
    const my = ++seq;
    let r;
    try {
      r = await api.executions({ ...f, cursor: cursor || undefined });
    } catch (e) {
      if (my === seq && ctx.alive()) { replace(body, h('p', { class: 'muted' }, 'Could not load executions.')); ctx.fail(e); }
      return;
    }
    if (my !== seq || !ctx.alive()) return;
    const list = (r && r.executions) || [];
    nextCursor = r && r.next_cursor ? r.next_cursor : null;
    next.disabled = !nextCursor;
    prev.disabled = cursors.length === 0;
    pageInfo.textContent = `Page ${cursors.length + 1} · ${list.length} execution${list.length === 1 ? '' : 's'}`;
    replace(body, table(list));
    if (auto.checked && list.some((x) => ACTIVE.has(x.status))) timer = setTimeout(load, 3000);
  };

  const reset = () => { cursors = []; cursor = ''; load(); };
  for (const el of [scriptSel, statusSel, trigSel, since, limitSel]) el.addEventListener('change', reset);
  ctx.root.querySelector('form.filters').addEventListener('submit', (ev) => { ev.preventDefault(); reset(); });
  next.addEventListener('click', () => { if (!nextCursor) return; cursors.push(cursor); cursor = nextCursor; load(); });
  prev.addEventListener('click', () => { if (!cursors.length) return; cursor = cursors.pop(); load(); });
  refresh.addEventListener('click', load);
  auto.addEventListener('change', () => { if (auto.checked) load(); else clearTimeout(timer); });
  ctx.onCleanup(() => clearTimeout(timer));
  await load();
}

function table(list) {
  if (!list.length) return h('p', { class: 'empty-state' }, 'No executions match these filters.');
  return h('table', { class: 'grid', id: 'executions-table' },
    h('thead', null, h('tr', null,
      ['Execution', 'Status', 'Script', 'Trigger', 'Started', 'Duration', 'Exit', 'Node'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, list.map((ex) => h('tr', { dataset: { executionId: ex.id, status: ex.status } },
      h('td', null, h('a', { href: `#/executions/${ex.id}`, class: 'strong' }, `#${ex.id}`)),
      h('td', null, statusBadge(ex.status)),
      h('td', null, ex.script_id != null ? h('a', { href: `#/scripts/${ex.script_id}` }, ex.script_name || `script ${ex.script_id}`) : (ex.script_name || '—')),
      h('td', null, ex.trigger || '—'),
      h('td', null, ex.started_at ? timeEl(ex.started_at) : h('span', { class: 'muted' }, ex.queued_at ? 'queued ' : '—', ex.queued_at ? timeEl(ex.queued_at, { compact: true }) : null)),
      h('td', { class: 'num' }, duration(ex.duration_ms)),
      h('td', { class: 'num' }, ex.signal != null && ex.signal !== '' ? `sig ${ex.signal}` : (ex.exit_code ?? '—')),
      h('td', null, ex.node || '—')))));
}
