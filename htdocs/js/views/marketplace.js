// The marketplace: its ready-made scripts (#/marketplace) and one item with
// its documentation and an install form (#/marketplace/:name).
// GET /api/v1/marketplace, POST /api/v1/marketplace/{name}/install.
import { h, replace, typeBadge } from '../dom.js';
import { api, ApiError } from '../api.js';
import { field } from '../widgets.js';
import { renderMarkdown } from '../markdown.js';

const items = () => api.get('/marketplace').then((r) => (r && r.items) || []);

export async function render(ctx) {
  if (ctx.params.name) return renderItem(ctx, ctx.params.name);
  const body = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  ctx.root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Marketplace')),
    h('p', { class: 'lead' }, 'Ready-made scripts shipped with scriptorch, each with its documentation. Installing one copies its files into the first script root and registers it as a script of its own.'),
    body);
  const list = await items();
  if (!ctx.alive()) return;
  if (!list.length) {
    replace(body, h('p', { class: 'empty-state' }, 'The marketplace is empty on this node (its marketplace_dir holds no item).'));
    return;
  }
  replace(body, h('table', { class: 'grid', id: 'market-table' },
    h('thead', null, h('tr', null, ['Item', 'Type', 'What it does', 'Needs', 'Installed', ''].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, list.map((it) => h('tr', { dataset: { item: it.name } },
      h('td', null, h('a', { href: `#/marketplace/${encodeURIComponent(it.name)}`, class: 'strong' }, it.title),
        h('div', { class: 'sub mono' }, it.name)),
      h('td', null, typeBadge(it.type)),
      h('td', null, it.summary),
      h('td', { dataset: { col: 'needs' } }, needs(it)),
      h('td', { dataset: { col: 'installed' } }, installedState(it)),
      h('td', { class: 'actions-cell' },
        h('a', { class: 'btn btn-small', href: `#/marketplace/${encodeURIComponent(it.name)}` }, 'Docs & install')))))));
}

function needs(it) {
  const tools = it.tools || [];
  if (!tools.length) return h('span', { class: 'muted' }, 'nothing');
  const missing = new Set(it.tools_missing || []);
  return tools.map((t, k) => [k ? ', ' : '', missing.has(t)
    ? h('span', { class: 'badge st-bad', dataset: { missing: t }, title: 'not installed on this node' }, `${t} missing`)
    : h('code', null, t)]);
}

function installedState(it) {
  const inst = it.installed_scripts || [];
  if (!inst.length) return h('span', { class: 'badge st-muted', dataset: { state: 'not-installed' } }, 'not installed');
  return [h('span', { class: 'badge st-ok', dataset: { state: 'installed' } }, 'installed'), ' as ',
    inst.map((s, k) => [k ? ', ' : '', h('a', { href: `#/scripts/${s.id}`, dataset: { scriptId: s.id } }, s.name)])];
}

// A name for the install that no script installed from the item has yet.
function freeName(it) {
  const taken = new Set((it.installed_scripts || []).map((s) => s.name));
  if (!taken.has(it.name)) return it.name;
  for (let k = 2; ; k += 1) if (!taken.has(`${it.name}-${k}`)) return `${it.name}-${k}`;
}

async function renderItem(ctx, name) {
  const list = await items();
  if (!ctx.alive()) return;
  const it = list.find((x) => x.name === name);
  if (!it) {
    ctx.root.append(
      h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/marketplace' }, 'Marketplace')),
      h('h1', null, 'No such item'),
      h('p', null, 'The marketplace of this node has no item ', h('code', null, name), '. ', h('a', { href: '#/marketplace' }, 'See the items'), '.'));
    return;
  }
  const item = (label, value) => [h('dt', null, label), h('dd', null, value)];
  const installed = h('dd', { id: 'item-installed' }, installedState(it));
  const missing = it.tools_missing || [];
  ctx.root.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/marketplace' }, 'Marketplace'), ' / ', it.name),
    h('div', { class: 'page-head' },
      h('div', { class: 'title-row' }, h('h1', null, it.title), typeBadge(it.type))),
    h('p', { class: 'lead' }, it.summary),
    ...(missing.length ? [h('p', { class: 'notice', id: 'item-missing', role: 'status' },
      `This node lacks ${missing.join(', ')}: installing here is refused until it is installed (the Debian package recommends ffmpeg).`)] : []),
    h('div', { class: 'two-col market-item' },
      h('section', { class: 'card market-docs', 'aria-label': 'Documentation' },
        h('div', { id: 'item-docs' }, renderMarkdown(it.docs))),
      h('div', null,
        ctx.can.admin ? installForm(ctx, it) : null,
        h('section', { class: 'card' }, h('h2', null, 'About'),
          h('dl', { class: 'facts' },
            item('Item', h('code', null, it.name)),
            item('Type', typeBadge(it.type)),
            item('Needs', needs(it)),
            [h('dt', null, 'Installed'), installed],
            item('Version', h('code', { class: 'wrap-any', title: it.version }, `${String(it.version).slice(0, 19)}…`)),
            item('Timeout', it.timeout_s ? `${it.timeout_s} s` : 'the default'))))));
}

function installForm(ctx, it) {
  const nameField = field('name', 'Script name', h('input', { type: 'text', value: freeName(it), required: true, autocomplete: 'off', spellcheck: 'false', maxlength: '64' }),
    { help: 'The new script\'s name: lower-case letters, digits, ".", "_", "-"; starts with a letter.' });
  const enabled = h('input', { type: 'checkbox', checked: true, id: 'install-enabled', name: 'enabled' });
  const error = h('div', { class: 'form-error', role: 'alert', hidden: true, id: 'install-error' });
  const done = h('div', { class: 'notice', role: 'status', hidden: true, id: 'install-done' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Install');
  const form = h('form', { class: 'card', id: 'install-form', novalidate: true },
    h('h2', null, 'Install'),
    nameField.el,
    h('label', { class: 'inline', for: 'install-enabled' }, enabled, ' Enabled'),
    error, done,
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    nameField.setError('');
    error.hidden = true;
    done.hidden = true;
    const body = { name: nameField.input.value.trim(), enabled: enabled.checked };
    submit.disabled = true;
    try {
      const s = await api.post(`/marketplace/${encodeURIComponent(it.name)}/install`, body);
      if (!ctx.alive()) return;
      replace(done, 'Installed as ', h('a', { href: `#/scripts/${s.id}`, dataset: { scriptId: s.id } }, s.name),
        s.enabled ? '' : ' (disabled)', '.');
      done.hidden = false;
      it.installed_scripts = [...(it.installed_scripts || []), { id: s.id, name: s.name }];
      replace(document.getElementById('item-installed'), installedState(it));
      nameField.input.value = freeName(it);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status === 401 || e.status === 0 || e.status >= 500) {
        if (e instanceof ApiError && e.status >= 500 && e.status !== 503) {
          error.textContent = `The install failed: ${e.message}`;
          error.hidden = false;
        }
        ctx.fail(e);
      } else {
        error.textContent = e.message;
        error.hidden = false;
        if (e.field === 'name') { nameField.setError(e.message); nameField.focus(); }
      }
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
