// Form widgets: labelled fields with server-error slots, JSON editor, args editor.
import { h, replace, nextId } from './dom.js';

// A labelled field: returns {el, input, setError(msg)}.
export function field(name, label, input, { help, wide = false } = {}) {
  const control = input.matches('input,select,textarea') ? input : (input.textarea || null);
  const id = nextId(`fld-${name}`);
  const labelEl = h('label', { id: `${id}-label` }, label);
  if (control) {
    if (!control.id) control.id = id;
    if (!control.name) control.name = name;
    labelEl.setAttribute('for', control.id);
  } else {
    input.setAttribute('aria-labelledby', labelEl.id);
  }
  const err = h('p', { class: 'field-error', id: `${id}-err`, dataset: { fieldError: name }, hidden: true, role: 'alert' });
  const helpEl = help ? h('p', { class: 'help', id: `${id}-help` }, help) : null;
  (control || input).setAttribute('aria-describedby', [helpEl ? helpEl.id : '', err.id].filter(Boolean).join(' '));
  const el = h('div', { class: ['field', wide && 'field-wide'], dataset: { field: name } },
    labelEl, input, helpEl, err);
  const setError = (msg) => {
    err.textContent = msg || '';
    err.hidden = !msg;
    const target = control || input.querySelector('input,select,textarea');
    if (target) {
      if (msg) target.setAttribute('aria-invalid', 'true');
      else target.removeAttribute('aria-invalid');
    }
    el.classList.toggle('has-error', Boolean(msg));
  };
  const focus = () => { const t = control || input.querySelector('input,select,textarea,button'); if (t) t.focus(); };
  return { el, input, setError, focus };
}

// Textarea that must hold a JSON value of the given kind ('object' or 'any').
export function jsonEditor(name, value, { kind = 'object', rows = 6, placeholder = '{}' } = {}) {
  const ta = h('textarea', { class: 'mono', rows: String(rows), spellcheck: 'false', placeholder, name, autocomplete: 'off' });
  ta.value = value === undefined || value === null ? '' : JSON.stringify(value, null, 2);
  const state = h('span', { class: 'json-state', 'aria-live': 'polite' });
  const fmt = h('button', { type: 'button', class: 'btn btn-small btn-quiet' }, 'Format');
  const wrap = h('div', { class: 'json-editor' }, ta, h('div', { class: 'json-bar' }, state, fmt));

  const parse = () => {
    const txt = ta.value.trim();
    if (!txt) return { ok: true, value: undefined };
    try {
      const v = JSON.parse(txt);
      if (kind === 'object' && (v === null || typeof v !== 'object' || Array.isArray(v))) {
        return { ok: false, error: 'must be a JSON object { … }' };
      }
      return { ok: true, value: v };
    } catch (e) {
      return { ok: false, error: `not valid JSON: ${e.message}` };
    }
  };
  const check = () => {
    const r = parse();
    state.textContent = r.ok ? (ta.value.trim() ? 'valid JSON' : 'empty') : r.error;
    state.classList.toggle('bad', !r.ok);
    return r;
  };
  ta.addEventListener('input', check);
  fmt.addEventListener('click', () => {
    const r = check();
    if (r.ok && r.value !== undefined) ta.value = JSON.stringify(r.value, null, 2);
    ta.focus();
  });
  check();
  wrap.textarea = ta;
  wrap.parse = check;
  wrap.setValue = (v) => { ta.value = v === undefined ? '' : JSON.stringify(v, null, 2); check(); };
  return wrap;
}

// Argument template editor: one input per argv entry, with placeholder chips.
export function argsEditor(initial, getInputKeys) {
  const list = h('ol', { class: 'args-list' });
  const preview = h('code', { class: 'args-preview' });
  const chips = h('div', { class: 'chips', 'aria-label': 'Insert placeholder' });
  let lastFocused = null;

  const refreshPreview = () => {
    preview.textContent = JSON.stringify(values());
  };
  const values = () => Array.from(list.querySelectorAll('input')).map((i) => i.value);

  const addRow = (val = '', focus = false) => {
    const inp = h('input', { type: 'text', class: 'mono', value: val, 'aria-label': 'Argument', autocomplete: 'off', spellcheck: 'false' });
    const up = h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'aria-label': 'Move argument up' }, '↑');
    const down = h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'aria-label': 'Move argument down' }, '↓');
    const rm = h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'aria-label': 'Remove argument' }, '✕');
    const li = h('li', null, inp, up, down, rm);
    inp.addEventListener('focus', () => { lastFocused = inp; });
    inp.addEventListener('input', refreshPreview);
    up.addEventListener('click', () => { if (li.previousElementSibling) list.insertBefore(li, li.previousElementSibling); renumber(); up.focus(); });
    down.addEventListener('click', () => { if (li.nextElementSibling) list.insertBefore(li.nextElementSibling, li); renumber(); down.focus(); });
    rm.addEventListener('click', () => {
      const next = li.nextElementSibling || li.previousElementSibling;
      li.remove(); renumber();
      if (next) next.querySelector('input').focus(); else addBtn.focus();
    });
    list.appendChild(li);
    renumber();
    if (focus) inp.focus();
    return inp;
  };
  const renumber = () => {
    Array.from(list.children).forEach((li, i) => li.querySelector('input').setAttribute('aria-label', `Argument ${i + 1}`));
    refreshPreview();
  };
  const addBtn = h('button', { type: 'button', class: 'btn btn-small' }, 'Add argument');
  addBtn.addEventListener('click', () => addRow('', true));

  const refreshChips = () => {
    const keys = (getInputKeys() || []).map((k) => `{${k}}`);
    replace(chips, h('span', { class: 'muted' }, 'Insert: '),
      [...keys, '{workdir}', '{output_file}', '{execution_id}'].map((p) => {
        const b = h('button', { type: 'button', class: 'chip', dataset: { placeholder: p } }, p);
        b.addEventListener('mousedown', (ev) => ev.preventDefault()); // keep the caret in the argument
        b.addEventListener('click', () => {
          let inp = lastFocused && lastFocused.isConnected ? lastFocused : null;
          if (!inp) inp = addRow('');
          const s = inp.selectionStart ?? inp.value.length;
          const e = inp.selectionEnd ?? inp.value.length;
          inp.value = inp.value.slice(0, s) + p + inp.value.slice(e);
          inp.focus();
          inp.setSelectionRange(s + p.length, s + p.length);
          refreshPreview();
        });
        return b;
      }));
  };

  for (const a of initial || []) addRow(String(a));
  const el = h('div', { class: 'args-editor', role: 'group' }, list,
    h('div', { class: 'args-bar' }, addBtn, chips),
    h('p', { class: 'help' }, 'argv as sent: ', preview));
  refreshChips();
  el.values = values;
  el.refreshChips = refreshChips;
  return el;
}
