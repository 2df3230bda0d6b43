// Tiny DOM helpers. Text always goes in through textContent / text nodes,
// never through innerHTML, so anything the API returns is shown as text.

const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'readOnly', 'required', 'multiple', 'indeterminate']);

function safeHref(v) {
  const s = String(v);
  // Only links this app builds itself: in-app routes, same-origin paths, blobs.
  if (s.startsWith('#') || s.startsWith('/') || s.startsWith('blob:')) return s;
  return '#';
}

export function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// h('a', {href: '#/x', class: 'btn', onclick: fn}, 'text', child, [more])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') {
        el.addEventListener(k.slice(2), v);
      } else if (k === 'class') {
        el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : String(v);
      } else if (k === 'dataset') {
        for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
      } else if (k === 'text') {
        el.textContent = String(v);
      } else if (k === 'style' || k === 'innerHTML' || k === 'outerHTML') {
        throw new Error(`h(): ${k} is not allowed (CSP, escaping)`);
      } else if (PROPS.has(k)) {
        el[k] = v;
      } else if (k === 'href') {
        el.setAttribute('href', safeHref(v));
      } else {
        el.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }
  return append(el, ...children);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, ...children);
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

let uid = 0;
export function nextId(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

// Status / type badges.
const STATUS_CLASS = {
  queued: 'st-queued', running: 'st-running', succeeded: 'st-ok', failed: 'st-bad',
  timed_out: 'st-warn', canceled: 'st-muted', error: 'st-bad', lost: 'st-warn',
  ready: 'st-ok', building: 'st-running', pending: 'st-queued', missing: 'st-muted',
  enabled: 'st-ok', disabled: 'st-muted',
  active: 'st-ok', revoked: 'st-bad', delivered: 'st-ok',
};

export function statusBadge(status) {
  const s = status == null ? 'unknown' : String(status);
  return h('span', { class: ['badge', STATUS_CLASS[s] || 'st-muted'], dataset: { status: s } },
    s.replace(/_/g, ' '));
}

export function typeBadge(type) {
  const t = String(type || '?');
  const known = ['shell', 'python', 'binary'].includes(t);
  return h('span', { class: ['type', known ? `type-${t}` : 'type-other'], dataset: { type: t } }, t);
}

export function enabledBadge(enabled) {
  return statusBadge(enabled ? 'enabled' : 'disabled');
}

// A modal confirmation built on <dialog>; resolves true/false.
export function confirmDialog({ title, message, confirmLabel = 'Confirm', cancelLabel = 'Cancel', danger = false }) {
  return new Promise((resolve) => {
    const cancelBtn = h('button', { type: 'button', class: 'btn', value: 'cancel' }, cancelLabel);
    const okBtn = h('button', { type: 'button', class: ['btn', danger ? 'btn-danger' : 'btn-primary'], value: 'ok' }, confirmLabel);
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title' },
      h('h2', { id: 'dlg-title' }, title),
      h('p', null, message),
      h('div', { class: 'actions' }, cancelBtn, okBtn));
    let result = false;
    cancelBtn.addEventListener('click', () => { result = false; dlg.close(); });
    okBtn.addEventListener('click', () => { result = true; dlg.close(); });
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    document.body.appendChild(dlg);
    dlg.showModal();
    cancelBtn.focus();
  });
}

// A <pre> pane for possibly large text, with size info and a wrap toggle.
export function outputPane(label, text, { truncated = false, empty = '(empty)', name } = {}) {
  const pre = h('pre', { class: 'pane', tabindex: '0', 'aria-label': label, dataset: { pane: name || label } });
  const info = h('span', { class: 'pane-info' });
  const wrap = h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'aria-pressed': 'false' }, 'Wrap lines');
  wrap.addEventListener('click', () => {
    const on = pre.classList.toggle('wrap');
    wrap.setAttribute('aria-pressed', String(on));
  });
  const flag = h('span', { class: 'badge st-warn', hidden: !truncated, dataset: { truncated: name || label } }, 'truncated');
  const box = h('section', { class: 'pane-box' },
    h('div', { class: 'pane-head' }, h('h3', null, label), flag, info, wrap),
    pre);
  box.update = (t, tr) => {
    const s = t == null ? '' : String(t);
    if (pre.textContent !== (s || empty)) pre.textContent = s || empty;
    pre.classList.toggle('empty', !s);
    const lines = s ? s.split('\n').length - (s.endsWith('\n') ? 1 : 0) : 0;
    info.textContent = s ? `${lines} line${lines === 1 ? '' : 's'}, ${s.length} chars` : '';
    flag.hidden = !tr;
  };
  box.update(text, truncated);
  return box;
}
