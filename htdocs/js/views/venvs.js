// Python venvs: list (#/venvs) and one venv with its build log (#/venvs/:id).
import { h, replace, statusBadge, confirmDialog } from '../dom.js';
import { logViewer } from '../log-viewer.js';
import { api } from '../api.js';
import { timeEl, bytes, duration, hashEl } from '../format.js';

export async function render(ctx) {
  if (ctx.params.id) return renderOne(ctx, ctx.params.id);
  const body = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  ctx.root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Python venvs')),
    h('p', { class: 'lead' }, 'One venv per requirements set, interpreter and installer options; scripts with the same key share it. Evicting removes it; it is rebuilt on next use.'),
    body);
  const [venvs, names] = await Promise.all([api.venvs(), scriptNames()]);
  if (!ctx.alive()) return;
  if (!venvs.length) { replace(body, h('p', { class: 'empty-state' }, 'No venvs yet. They are built on the first run of a python script.')); return; }
  replace(body, h('table', { class: 'grid stack', id: 'venvs-table' },
    h('thead', null, h('tr', null, ['Key', 'Status', 'Python', 'Requirements', 'Size', 'Last used', 'Build time', 'Used by', ctx.can.admin ? 'Actions' : null].filter(Boolean).map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, venvs.map((v) => {
      const ev = ctx.can.admin ? evictButton(ctx, v, () => ctx.navigate('/venvs', { replace: true })) : null;
      return h('tr', { dataset: { venvId: v.id, status: v.status } },
        h('td', { dataset: { label: 'Key' } }, h('a', { href: `#/venvs/${v.id}`, title: v.key }, hashEl(v.key, 12))),
        h('td', { dataset: { label: 'Status' } }, statusBadge(v.status), v.status === 'failed' ? [' ', h('a', { href: `#/venvs/${v.id}` }, 'build log')] : null),
        h('td', { dataset: { label: 'Python' } }, v.python || '—'),
        h('td', { dataset: { label: 'Requirements' } }, v.requirements ? h('pre', { class: 'inline-pre reqs', tabindex: '0' }, v.requirements) : h('span', { class: 'muted' }, 'none')),
        h('td', { class: 'num', dataset: { label: 'Size' } }, bytes(v.size_bytes)),
        h('td', { dataset: { label: 'Last used' } }, timeEl(v.last_used_at)),
        h('td', { class: 'num', dataset: { label: 'Build time' } }, v.build_seconds == null ? '—' : duration(v.build_seconds * 1000)),
        h('td', { dataset: { label: 'Used by' } }, usedBy(v, names)),
        ev ? h('td', { class: 'actions-cell', dataset: { label: 'Actions' } }, ev) : null);
    }))));
}

async function scriptNames() {
  try {
    const list = await api.scripts();
    return new Map(list.map((s) => [Number(s.id), s.name]));
  } catch { return new Map(); }
}

function usedBy(v, names) {
  const ids = v.scripts || [];
  if (!ids.length) return h('span', { class: 'muted' }, 'no script');
  return h('ul', { class: 'plain' }, ids.map((id) => h('li', null, h('a', { href: `#/scripts/${id}` }, names.get(Number(id)) || `script ${id}`))));
}

function evictButton(ctx, v, after) {
  const b = h('button', { type: 'button', class: 'btn btn-small btn-danger', dataset: { action: 'evict' } }, 'Evict…');
  b.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Evict this venv?',
      message: `The venv ${String(v.key).slice(0, 12)}… is removed from disk and rebuilt on the next run that needs it.`,
      confirmLabel: 'Evict venv',
      danger: true,
    });
    if (!ok) { b.focus(); return; }
    b.disabled = true;
    try {
      await api.evictVenv(v.id);
      ctx.flash('Venv evicted.', 'info', { next: true });
      after();
    } catch (e) { ctx.fail(e, 'Could not evict: '); b.disabled = false; }
  });
  return b;
}

async function renderOne(ctx, id) {
  const [v, names] = await Promise.all([api.venv(id), scriptNames()]);
  if (!ctx.alive()) return;
  const item = (label, value) => [h('dt', null, label), h('dd', null, value)];
  const buildLog = logViewer('Build log', { name: 'build_log', empty: '(no build log recorded)' });
  ctx.root.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/venvs' }, 'Venvs'), ' / ', hashEl(v.key, 12)),
    h('div', { class: 'page-head' },
      h('div', { class: 'title-row' }, h('h1', null, 'Venv ', hashEl(v.key, 12)), statusBadge(v.status)),
      ctx.can.admin ? h('div', { class: 'actions' }, evictButton(ctx, v, () => ctx.navigate('/venvs'))) : null),
    h('section', { class: 'card' }, h('dl', { class: 'facts facts-wide' },
      item('Key', h('code', { class: 'wrap-any' }, v.key || '—')),
      item('Python', v.python || '—'),
      item('Requirements', v.requirements ? h('pre', { class: 'inline-pre' }, v.requirements) : h('span', { class: 'muted' }, 'none')),
      item('Size', bytes(v.size_bytes)),
      item('Created', timeEl(v.created_at)),
      item('Last used', timeEl(v.last_used_at)),
      item('Build time', v.build_seconds == null ? '—' : duration(v.build_seconds * 1000)),
      item('Used by', usedBy(v, names)))),
    buildLog);
  buildLog.update(v.build_log || '', false);
}
