// Sign in with an API token: the server turns it into a session cookie
// (HttpOnly; this page forgets the token as soon as the server answers),
// then the page that was asked for opens (#/login?next=/executions/12).
import { h } from '../dom.js';
import { ApiError } from '../api.js';
import * as session from '../session.js';

export async function render(ctx) {
  const next = ctx.next();
  const reason = ctx.loginReason();
  const msg = h('div', { class: 'form-error', role: 'alert', id: 'login-error', hidden: !reason }, reason);
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false',
    required: true, 'aria-describedby': 'token-help login-error',
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in');
  const form = h('form', { class: 'login-form', novalidate: true },
    h('h1', null, 'Sign in'),
    h('p', { class: 'muted' }, 'Paste an API token: the one ', h('code', null, 'dev/up'), ' printed, or one made with ',
      h('code', null, 'scriptorchd token create'), ' or on the Tokens page.'),
    h('div', { class: 'field' },
      h('label', { for: 'token' }, 'Token'),
      input,
      h('p', { class: 'help', id: 'token-help' }, 'The browser keeps a session cookie, not the token: links open in new tabs while you are signed in. Signing out ends the session.')),
    next !== '/scripts' ? h('p', { class: 'muted', dataset: { next } }, 'After signing in: ', h('code', null, next)) : null,
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
      const s = await session.signIn(token);
      input.value = '';
      ctx.flash(`Signed in as ${s.token_name} (${s.role}).`, 'info', { next: true });
      ctx.signedIn(next);
    } catch (e) {
      if (e instanceof ApiError) {
        if (e.status === 401) showError('This token was not accepted: it is unknown or revoked.');
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
  if (session.isSignedIn()) {
    const s = session.get();
    ctx.root.prepend(h('p', { class: 'notice' }, `You are signed in as ${s.token_name} (${s.role}). `,
      h('a', { href: `#${next}` }, next === '/scripts' ? 'Go to scripts' : 'Continue'), '.'));
  }
  input.focus();
}
