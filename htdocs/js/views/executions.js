// Executions across scripts (the history): filters, counts, order and
// cursor paging, all in the page's URL (#/executions?status=failed,error&...),
// so that Back, Forward, reload and a shared link show the same list.
// A filter change or a page step is a new history entry; the router calls
// update() for those, which reads the URL again.
//
// URL keys: script_id, status (comma-separated), trigger, since, until
// (RFC 3339), order (desc | asc), limit, cursor (repeated: the cursors of
// the pages walked to reach this one, the last being this page's).
import { h, replace, statusBadge } from '../dom.js';
import { api } from '../api.js';
import { timeEl, duration, EXEC_STATUSES, TRIGGERS, ACTIVE } from '../format.js';
import { scriptStats } from '../chart.js';
import { clip } from './script.js';

const DEFAULT_LIMIT = '50';
const LIMITS = ['25', '50', '100', '200'];

function toLocalInput(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function fromLocalInput(v) {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

// The state a URL describes.
function stateOf(search) {
  const statuses = (search.get('status') || '').split(',').filter((x) => EXEC_STATUSES.includes(x));
  const order = search.get('order') === 'asc' ? 'asc' : 'desc';
  const limit = LIMITS.includes(search.get('limit')) ? search.get('limit') : DEFAULT_LIMIT;
  return {
    script_id: /^\d+$/.test(search.get('script_id') || '') ? search.get('script_id') : '',
    statuses,
    trigger: TRIGGERS.includes(search.get('trigger')) ? search.get('trigger') : '',
    since: search.get('since') || '',
    until: search.get('until') || '',
    order,
    limit,
    cursors: search.getAll('cursor').filter(Boolean),
  };
}

// ... and the URL of a state (defaults left out).
function searchOf(st) {
  const q = new URLSearchParams();
  if (st.script_id) q.set('script_id', st.script_id);
  if (st.statuses.length) q.set('status', st.statuses.join(','));
  if (st.trigger) q.set('trigger', st.trigger);
  if (st.since) q.set('since', st.since);
  if (st.until) q.set('until', st.until);
  if (st.order !== 'desc') q.set('order', st.order);
  if (st.limit !== DEFAULT_LIMIT) q.set('limit', st.limit);
  for (const c of st.cursors) q.append('cursor', c);
  return q;
}

export async function render(ctx) {
  const scriptSel = h('select', { id: 'x-script', name: 'script_id' }, h('option', { value: '' }, 'All scripts'));
  const statusBoxes = EXEC_STATUSES.map((s) => h('input', { type: 'checkbox', name: 'status', value: s, id: `x-st-${s}` }));
  const statusSummary = h('span', { class: 'status-summary' });
  const statusPick = h('details', { class: 'multi', id: 'x-status' },
    h('summary', null, h('span', { class: 'multi-label' }, 'Status'), statusSummary),
    h('fieldset', { class: 'multi-list' }, h('legend', { class: 'sr-only' }, 'Statuses to show'),
      statusBoxes.map((b) => h('label', { class: 'inline', for: b.id }, b, ' ', b.value.replace('_', ' ')))));
  const trigSel = h('select', { id: 'x-trigger', name: 'trigger' }, h('option', { value: '' }, 'Any trigger'),
    TRIGGERS.map((t) => h('option', { value: t }, t)));
  const since = h('input', { id: 'x-since', name: 'since', type: 'datetime-local' });
  const until = h('input', { id: 'x-until', name: 'until', type: 'datetime-local' });
  const orderSel = h('select', { id: 'x-order', name: 'order' },
    h('option', { value: 'desc' }, 'Newest first'), h('option', { value: 'asc' }, 'Oldest first'));
  const limitSel = h('select', { id: 'x-limit', name: 'limit' }, LIMITS.map((n) => h('option', { value: n }, n)));
  const resetLink = h('a', { href: '#/executions', class: 'btn btn-small btn-quiet', dataset: { action: 'reset' } }, 'Clear filters');
  const auto = h('input', { type: 'checkbox', id: 'x-auto', checked: true });
  const countsBox = h('div', { class: 'counts', dataset: { counts: '' }, 'aria-live': 'polite' });
  const statsBox = h('section', { class: 'card', hidden: true, 'aria-labelledby': 'xs-h', dataset: { stats: 'script' } });
  const body = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  const prev = h('button', { type: 'button', class: 'btn btn-small', disabled: true, dataset: { page: 'prev' } }, '← Previous page');
  const next = h('button', { type: 'button', class: 'btn btn-small', disabled: true, dataset: { page: 'next' } }, 'Next page →');
  const pageInfo = h('span', { class: 'muted', role: 'status', dataset: { page: 'info' } });
  const refresh = h('button', { type: 'button', class: 'btn btn-small btn-quiet' }, 'Refresh');

  ctx.root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Executions'),
      h('div', { class: 'actions' }, h('label', { class: 'inline' }, auto, ' Auto-refresh while runs are active'), refresh)),
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter executions' },
      h('label', null, h('span', null, 'Script'), scriptSel),
      statusPick,
      h('label', null, h('span', null, 'Trigger'), trigSel),
      h('label', null, h('span', null, 'From'), since),
      h('label', null, h('span', null, 'To'), until),
      h('label', null, h('span', null, 'Order'), orderSel),
      h('label', null, h('span', null, 'Per page'), limitSel),
      resetLink),
    countsBox,
    statsBox,
    body,
    h('div', { class: 'pager' }, prev, pageInfo, next));

  // Script names for the filter (best effort: it works by id without).
  let scriptsKnown = null;
  const fillScripts = () => {
    const cur = stateOf(ctx.search).script_id;
    const list = scriptsKnown || [];
    replace(scriptSel, h('option', { value: '' }, 'All scripts'),
      list.slice().sort((a, b) => a.name.localeCompare(b.name)).map((s) => h('option', { value: String(s.id) }, s.name)));
    if (cur && !list.some((s) => String(s.id) === cur)) {
      scriptSel.appendChild(h('option', { value: cur }, scriptsKnown ? `script ${cur} (deleted)` : `script ${cur}`));
    }
    scriptSel.value = cur;
  };
  fillScripts();
  api.scripts().then((list) => { if (ctx.alive()) { scriptsKnown = list; fillScripts(); } }).catch(() => {});

  // The controls show what the URL says.
  const sync = () => {
    const st = stateOf(ctx.search);
    fillScripts();
    for (const b of statusBoxes) b.checked = st.statuses.includes(b.value);
    statusSummary.textContent = st.statuses.length ? st.statuses.map((x) => x.replace('_', ' ')).join(', ') : 'any';
    trigSel.value = st.trigger;
    since.value = toLocalInput(st.since);
    until.value = toLocalInput(st.until);
    orderSel.value = st.order;
    limitSel.value = st.limit;
    resetLink.hidden = searchOf({ ...st, cursors: [] }).toString() === '';
  };

  // A filter changed: a new history entry, back to the first page.
  const changed = () => {
    const st = {
      script_id: scriptSel.value,
      statuses: statusBoxes.filter((b) => b.checked).map((b) => b.value),
      trigger: trigSel.value,
      since: fromLocalInput(since.value),
      until: fromLocalInput(until.value),
      order: orderSel.value,
      limit: limitSel.value,
      cursors: [],
    };
    ctx.setQuery(searchOf(st));
    sync();
    load();
  };

  let timer = null;
  let seq = 0;
  const paintPageInfo = () => {
    const d = pageInfo.dataset;
    const first = Number(d.first);
    const n = Number(d.count);
    pageInfo.textContent = n ? `Page ${d.pageNo} · ${first}–${first + n - 1}${d.total ? ` of ${d.total}` : ''}` : `Page ${d.pageNo}`;
  };
  const load = async () => {
    clearTimeout(timer);
    const st = stateOf(ctx.search);
    const my = ++seq;
    const query = {
      script_id: st.script_id,
      status: st.statuses,
      trigger: st.trigger,
      since: st.since,
      until: st.until,
      order: st.order === 'asc' ? 'asc' : undefined,
      limit: st.limit,
      cursor: st.cursors[st.cursors.length - 1],
    };
    let r;
    try {
      r = await api.executions(query);
    } catch (e) {
      if (my === seq && ctx.alive()) { replace(body, h('p', { class: 'muted' }, 'Could not load executions.')); ctx.fail(e); }
      return;
    }
    if (my !== seq || !ctx.alive()) return;
    const list = (r && r.executions) || [];
    const nextCursor = r && r.next_cursor ? r.next_cursor : null;
    next.disabled = !nextCursor;
    next.dataset.cursor = nextCursor || '';
    prev.disabled = st.cursors.length === 0;
    pageInfo.dataset.pageNo = String(st.cursors.length + 1);
    pageInfo.dataset.first = String(st.cursors.length * Number(st.limit) + 1);
    pageInfo.dataset.count = String(list.length);
    paintPageInfo();
    replace(body, table(list));
    loadCounts(st, my);
    if (st.script_id) loadStats(st.script_id); else statsBox.hidden = true;
    if (auto.checked && list.some((x) => ACTIVE.has(x.status))) timer = setTimeout(load, 3000);
  };

  // How many runs the filters match, and how many of each status (the
  // other filters applied), each a link that narrows the list to it.
  const loadCounts = async (st, my) => {
    let c;
    try {
      c = await api.executionCounts({ script_id: st.script_id, trigger: st.trigger, since: st.since, until: st.until });
    } catch { if (my === seq) countsBox.hidden = true; return; }
    if (my !== seq || !ctx.alive()) return;
    const counts = (c && c.counts) || {};
    const shown = st.statuses.length ? st.statuses.reduce((a, s) => a + (Number(counts[s]) || 0), 0) : (c.total || 0);
    countsBox.hidden = false;
    replace(countsBox,
      h('span', { class: 'count-total', dataset: { count: 'total' } }, `${shown} execution${shown === 1 ? '' : 's'}`,
        st.statuses.length ? h('span', { class: 'muted' }, ` of ${c.total || 0}`) : null),
      EXEC_STATUSES.filter((s) => counts[s]).map((s) => {
        const q = searchOf({ ...st, statuses: [s], cursors: [] }).toString();
        return h('a', { class: ['count-chip', st.statuses.length && !st.statuses.includes(s) && 'count-off'], href: `#/executions?${q}`,
          dataset: { count: s }, title: `Show only the ${s.replace('_', ' ')} ones` },
        statusBadge(s), ' ', String(counts[s]));
      }));
    pageInfo.dataset.total = String(shown);
    paintPageInfo();
  };

  // One script chosen: its success rate and last runs beside the list.
  let statsFor = null;
  const loadStats = async (sid) => {
    if (statsFor === sid && !statsBox.hidden) return;
    statsFor = sid;
    try {
      const parts = await scriptStats(sid);
      if (!ctx.alive() || statsFor !== sid) return;
      const name = (scriptsKnown || []).find((x) => String(x.id) === sid);
      replace(statsBox, h('h2', { id: 'xs-h' }, `Runs of ${name ? name.name : `script ${sid}`}`), parts);
      statsBox.hidden = false;
    } catch { statsBox.hidden = true; }
  };

  // The status list closes as a select would: a click elsewhere, Escape.
  const closePick = (ev) => { if (statusPick.open && !statusPick.contains(ev.target)) statusPick.open = false; };
  document.addEventListener('click', closePick);
  ctx.onCleanup(() => document.removeEventListener('click', closePick));
  statusPick.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && statusPick.open) { ev.preventDefault(); statusPick.open = false; statusPick.querySelector('summary').focus(); }
  });
  for (const el of [scriptSel, trigSel, since, until, orderSel, limitSel]) el.addEventListener('change', changed);
  for (const b of statusBoxes) b.addEventListener('change', changed);
  ctx.root.querySelector('form.filters').addEventListener('submit', (ev) => { ev.preventDefault(); changed(); });
  next.addEventListener('click', () => {
    const st = stateOf(ctx.search);
    if (!next.dataset.cursor) return;
    ctx.setQuery(searchOf({ ...st, cursors: [...st.cursors, next.dataset.cursor] }));
    load();
  });
  prev.addEventListener('click', () => {
    const st = stateOf(ctx.search);
    if (!st.cursors.length) return;
    ctx.setQuery(searchOf({ ...st, cursors: st.cursors.slice(0, -1) }));
    load();
  });
  refresh.addEventListener('click', load);
  auto.addEventListener('change', () => { if (auto.checked) load(); else clearTimeout(timer); });
  ctx.onCleanup(() => clearTimeout(timer));

  // Back and Forward between two states of this page: read the URL again.
  ctx.reload = () => { sync(); load(); };
  sync();
  await load();
}

export function update(ctx) {
  if (ctx.reload) ctx.reload();
}

function table(list) {
  if (!list.length) return h('p', { class: 'empty-state' }, 'No executions match these filters.');
  return h('table', { class: 'grid stack', id: 'executions-table' },
    h('thead', null, h('tr', null,
      ['Execution', 'Status', 'Script', 'Trigger', 'Started', 'Duration', 'Exit', 'Node'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, list.map((ex) => h('tr', { dataset: { executionId: ex.id, status: ex.status } },
      h('td', { dataset: { label: 'Execution' } }, h('a', { href: `#/executions/${ex.id}`, class: 'strong' }, `#${ex.id}`)),
      h('td', { dataset: { label: 'Status' } }, statusBadge(ex.status),
        ex.error ? h('div', { class: 'row-error', title: ex.error, dataset: { col: 'error' } }, clip(ex.error)) : null),
      h('td', { dataset: { label: 'Script' } }, ex.script_id != null ? h('a', { href: `#/scripts/${ex.script_id}` }, ex.script_name || `script ${ex.script_id}`) : (ex.script_name || '—')),
      h('td', { dataset: { label: 'Trigger', col: 'trigger' } }, ex.trigger || '—',
        ex.triggered_by ? h('div', { class: 'sub' }, ex.triggered_by) : null),
      h('td', { dataset: { label: 'Started' } }, ex.started_at ? timeEl(ex.started_at) : h('span', { class: 'muted' }, ex.queued_at ? 'queued ' : '—', ex.queued_at ? timeEl(ex.queued_at, { compact: true }) : null)),
      h('td', { class: 'num', dataset: { label: 'Duration' } }, duration(ex.duration_ms)),
      h('td', { class: 'num', dataset: { label: 'Exit' } }, ex.signal != null && ex.signal !== '' ? `sig ${ex.signal}` : String(ex.exit_code ?? '—')),
      h('td', { dataset: { label: 'Node' } }, ex.node || '—')))));
}
