// API tokens (admin): the list with last use, a new token (shown once,
// with a copy button), revocation with confirmation.
import { h, replace, statusBadge, confirmDialog } from '../dom.js';
import { api, ApiError } from '../api.js';
import { field } from '../widgets.js';
import { timeEl } from '../format.js';

const ROLES = [
  ['viewer', 'viewer: reads scripts and executions'],
  ['operator', 'operator: also runs and cancels'],
  ['admin', 'admin: everything, tokens included'],
];

export async function render(ctx) {
  const list = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, 'Loading…'));
  const showRevoked = h('input', { type: 'checkbox', id: 't-revoked' });
  const nameIn = field('name', 'Name', h('input', { type: 'text', required: true, autocomplete: 'off', spellcheck: 'false', maxlength: '64' }),
    { help: 'Who or what uses it (a studio backend, a person): runs it starts are recorded with this name.' });
  const roleSel = field('role', 'Role', h('select', null, ROLES.map(([v, l]) => h('option', { value: v, selected: v === 'operator' }, l))));
  const createBtn = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create token');
  const formError = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const created = h('div', { class: 'token-created', hidden: true, id: 'token-created', tabindex: '-1' });
  const form = h('form', { class: 'card token-form', id: 'token-form', novalidate: true, 'aria-labelledby': 'tnew-h' },
    h('h2', { id: 'tnew-h' }, 'New token'),
    h('div', { class: 'grid-fields' }, nameIn.el, roleSel.el),
    formError,
    h('div', { class: 'actions' }, createBtn));

  ctx.root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'API tokens'),
      h('label', { class: 'inline' }, showRevoked, ' Show revoked tokens')),
    h('p', { class: 'lead' }, 'Clients and people sign in with a token. Its value is shown once, when it is made; the server keeps only a hash. Revoking one stops it at once, with every session signed in with it.'),
    created,
    form,
    h('section', { class: 'card', 'aria-labelledby': 'tlist-h' }, h('h2', { id: 'tlist-h' }, 'Tokens'), list));

  let tokens = [];
  const isMine = (t) => Boolean(ctx.session) && ctx.session.token_id != null && t.id === ctx.session.token_id;
  const paint = () => {
    const rows = tokens.filter((t) => showRevoked.checked || !t.revoked);
    if (!rows.length) { replace(list, h('p', { class: 'muted' }, 'No tokens.')); return; }
    replace(list, h('table', { class: 'grid stack', id: 'tokens-table' },
      h('thead', null, h('tr', null, ['Name', 'Role', 'Created', 'Last used', 'State', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, rows.map((t) => {
        // The session's own token, by its id: names are not unique.
        const mine = isMine(t);
        let revoke = null;
        if (!t.revoked) {
          revoke = h('button', { type: 'button', class: 'btn btn-small btn-danger', dataset: { action: 'revoke' }, 'aria-label': `Revoke ${t.name}` }, 'Revoke…');
          revoke.addEventListener('click', () => revokeToken(t, revoke, mine));
        }
        return h('tr', { dataset: { tokenId: t.id, tokenName: t.name, revoked: String(Boolean(t.revoked)), mine: String(mine) } },
          h('td', { dataset: { label: 'Name' } }, h('span', { class: 'strong' }, t.name), mine ? h('span', { class: 'sub' }, ' (this session)') : null),
          h('td', { dataset: { label: 'Role' } }, t.role),
          h('td', { dataset: { label: 'Created' } }, timeEl(t.created_at)),
          h('td', { dataset: { label: 'Last used', col: 'last-used' } }, t.last_used_at ? timeEl(t.last_used_at) : h('span', { class: 'muted' }, 'never')),
          h('td', { dataset: { label: 'State' } }, statusBadge(t.revoked ? 'revoked' : 'active')),
          h('td', { class: 'actions-cell', dataset: { label: 'Actions' } }, revoke));
      }))));
  };
  const load = async () => {
    try {
      tokens = await api.tokens();
    } catch (e) {
      if (ctx.alive()) { replace(list, h('p', { class: 'muted' }, 'Could not load tokens.')); ctx.fail(e); }
      return;
    }
    if (ctx.alive()) paint();
  };

  const revokeToken = async (t, btn, mine) => {
    const ok = await confirmDialog({
      title: `Revoke ${t.name}?`,
      message: `Every client using this ${t.role} token is refused from now on, and browser sessions signed in with it end.${mine ? ' That includes this session: you will have to sign in again.' : ''} This cannot be undone.`,
      confirmLabel: 'Revoke token',
      danger: true,
    });
    if (!ok) { btn.focus(); return; }
    btn.disabled = true;
    try {
      await api.revokeToken(t.id);
      ctx.flash(`Revoked ${t.name}.`, 'info');
      await load(); // revoking this session's own token ends it: the 401 leads to sign-in
    } catch (e) {
      btn.disabled = false;
      ctx.fail(e, `Could not revoke ${t.name}: `);
    }
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    nameIn.setError('');
    roleSel.setError('');
    formError.hidden = true;
    const name = nameIn.input.value.trim();
    if (!name) { nameIn.setError('Give the token a name.'); nameIn.focus(); return; }
    createBtn.disabled = true;
    try {
      const t = await api.createToken(name, roleSel.input.value);
      nameIn.input.value = '';
      showCreated(t);
      await load();
    } catch (e) {
      if (e instanceof ApiError && (e.status === 422 || e.status === 409)) {
        const errs = e.errors.length ? e.errors : [{ field: e.field, message: e.message }];
        for (const fe of errs) {
          if (fe.field === 'role') roleSel.setError(fe.message);
          else if (fe.field === 'name' || e.status === 409) nameIn.setError(fe.message);
          else { formError.textContent = fe.message; formError.hidden = false; }
        }
        if (errs.some((fe) => fe.field !== 'role')) nameIn.focus(); else roleSel.focus();
      } else ctx.fail(e, 'Could not create the token: ');
    }
    createBtn.disabled = false;
  });
  nameIn.input.addEventListener('input', () => nameIn.setError(''));

  // The new token, once: copy it now, it is not shown again.
  const showCreated = (t) => {
    const value = h('input', { type: 'text', class: 'mono token-value', readOnly: true, value: t.token, 'aria-label': `The new token ${t.name}`, id: 'new-token', spellcheck: 'false' });
    const copied = h('span', { class: 'muted', role: 'status' });
    const copy = h('button', { type: 'button', class: 'btn btn-primary', dataset: { action: 'copy' } }, 'Copy');
    copy.addEventListener('click', async () => {
      value.focus();
      value.select();
      let ok = false;
      try {
        if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(t.token); ok = true; }
      } catch { /* fall back below */ }
      if (!ok) { try { ok = document.execCommand('copy'); } catch { ok = false; } }
      copied.textContent = ok ? 'Copied.' : 'Copying is not allowed here: select the token and copy it by hand.';
    });
    const done = h('button', { type: 'button', class: 'btn btn-quiet', dataset: { action: 'dismiss-token' } }, 'Done, I have saved it');
    done.addEventListener('click', () => { replace(created); created.hidden = true; nameIn.focus(); });
    replace(created,
      h('h2', null, `Token ${t.name} (${t.role}) created`),
      h('p', null, h('strong', null, 'Copy it now: '), 'it is shown only this once and cannot be read again.'),
      h('div', { class: 'token-row' }, value, copy, copied),
      h('div', { class: 'actions' }, done));
    created.hidden = false;
    created.focus();
    value.select();
  };

  showRevoked.addEventListener('change', paint);
  ctx.onCleanup(() => { replace(created); }); // the value leaves the page with it
  await load();
}
