// Sign in with a bearer token (kept in sessionStorage only).
import { h } from '../dom.js';
import { api, ApiError, setToken, clearToken, getToken } from '../api.js';

export async function render(ctx) {
  const reason = ctx.loginReason();
  const msg = h('div', { class: 'form-error', role: 'alert', id: 'login-error', hidden: !reason }, reason);
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false',
    required: true, 'aria-describedby': 'token-help login-error',
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in');
  const form = h('form', { class: 'login-form', novalidate: true },
    h('h1', null, 'Sign in'),
    h('p', { class: 'muted' }, 'Paste an API token created with ', h('code', null, 'scriptorchd token create'), '.'),
    h('div', { class: 'field' },
      h('label', { for: 'token' }, 'Token'),
      input,
      h('p', { class: 'help', id: 'token-help' }, 'The token is kept for this browser tab only (session storage) and removed when you sign out.')),
    msg,
    h('div', { class: 'actions' }, submit));

  const showError = (text) => { msg.textContent = text; msg.hidden = false; };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) { showError('Enter a token.'); input.focus(); return; }
    submit.disabled = true;
    msg.hidden = true;
    try {
      // A cheap authenticated read that every role (viewer and up) may do.
      await api.get('/executions', { token, notify401: false, query: { limit: 1 } });
      setToken(token);
      ctx.flash('Signed in.', 'info', { next: true });
      ctx.navigate('/scripts');
    } catch (e) {
      clearToken();
      if (e instanceof ApiError) {
        if (e.status === 401) showError('This token was not accepted: it is unknown or revoked.');
        else if (e.status === 403) showError("This token's role may not read executions.");
        else if (e.status === 0 || e.status === 503) showError(`Cannot sign in now: ${e.friendly}`);
        else showError(e.friendly);
      } else {
        showError(String(e));
      }
      submit.disabled = false;
      input.focus();
      input.select();
    }
  });

  ctx.root.appendChild(h('div', { class: 'login-wrap' }, form));
  if (getToken()) {
    ctx.root.prepend(h('p', { class: 'notice' }, 'You are already signed in. ', h('a', { href: '#/scripts' }, 'Go to scripts'), '.'));
  }
  input.focus();
}

