// An input form generated from a script's `inputs` schema, with a raw JSON mode.
import { h, nextId } from './dom.js';

function kindOf(p) {
  if (!p || typeof p !== 'object') return 'json';
  if (Array.isArray(p.enum) && p.enum.length) return 'enum';
  const t = Array.isArray(p.type) ? p.type.find((x) => x !== 'null') : p.type;
  if (t === 'string' || t === 'number' || t === 'integer' || t === 'boolean') return t;
  return 'json';
}

export function schemaForm(schema, initial = {}) {
  const props = schema && typeof schema === 'object' && schema.properties && typeof schema.properties === 'object'
    ? schema.properties : null;
  const required = new Set(Array.isArray(schema && schema.required) ? schema.required : []);
  const controls = new Map(); // key -> {kind, el, err, prop}
  const formBox = h('div', { class: 'schema-fields' });
  const raw = h('textarea', { class: 'mono', rows: '8', spellcheck: 'false', 'aria-label': 'Input as JSON', name: 'raw-input' });
  const rawErr = h('p', { class: 'field-error', hidden: true, role: 'alert' });
  const rawBox = h('div', { class: 'raw-input', hidden: true }, raw, rawErr);
  const toggle = h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'aria-pressed': 'false', dataset: { action: 'raw-toggle' } }, 'Edit as raw JSON');
  const general = h('p', { class: 'field-error', hidden: true, role: 'alert', dataset: { fieldError: 'input' } });
  let rawMode = !props || Object.keys(props).length === 0;

  if (props) {
    for (const [key, p] of Object.entries(props)) {
      const kind = kindOf(p);
      const id = nextId('in');
      let el;
      const v = initial[key];
      if (kind === 'enum') {
        el = h('select', { id, name: key },
          required.has(key) ? null : h('option', { value: '' }, '—'),
          p.enum.map((opt, i) => h('option', { value: String(i), selected: v !== undefined && JSON.stringify(v) === JSON.stringify(opt) }, typeof opt === 'string' ? opt : JSON.stringify(opt))));
      } else if (kind === 'boolean') {
        el = h('input', { id, name: key, type: 'checkbox', checked: v === true });
      } else if (kind === 'number' || kind === 'integer') {
        el = h('input', { id, name: key, type: 'number', step: kind === 'integer' ? '1' : 'any', min: p.minimum ?? null, max: p.maximum ?? null, value: v ?? '' });
      } else if (kind === 'string') {
        el = h('input', { id, name: key, type: p.secret === true ? 'password' : 'text', maxlength: p.maxLength ?? null, value: v ?? '', autocomplete: 'off', spellcheck: 'false' });
      } else {
        el = h('textarea', { id, name: key, class: 'mono', rows: '3', spellcheck: 'false', placeholder: p && p.type === 'array' ? '[ … ]' : 'JSON value' });
        el.value = v === undefined ? '' : JSON.stringify(v);
      }
      const err = h('p', { class: 'field-error', hidden: true, role: 'alert', dataset: { fieldError: `input.${key}` } });
      const hints = [];
      if (kind === 'enum') {
        hints.push(`one of: ${p.enum.map((o) => (typeof o === 'string' ? o : JSON.stringify(o))).join(', ')}`);
      } else {
        hints.push(Array.isArray(p && p.type) ? p.type.join(' | ') : (p && p.type) || 'any JSON value');
      }
      if (p && p.default !== undefined) hints.push(`default ${JSON.stringify(p.default)}`);
      if (p && p.secret === true) hints.push('secret: stored as ***');
      if (p && p.minimum !== undefined) hints.push(`≥ ${p.minimum}`);
      if (p && p.maximum !== undefined) hints.push(`≤ ${p.maximum}`);
      if (p && p.maxLength !== undefined) hints.push(`max ${p.maxLength} chars`);
      if (p && p.description) hints.push(String(p.description));
      controls.set(key, { kind, el, err, prop: p });
      formBox.appendChild(h('div', { class: ['field', kind === 'boolean' && 'field-check'] },
        h('label', { for: id }, key, required.has(key) ? h('span', { class: 'req', 'aria-label': 'required' }, ' *') : null),
        el,
        h('p', { class: 'help' }, hints.join(' · ')),
        err));
    }
  }

  const readForm = () => {
    const out = {};
    for (const [key, c] of controls) {
      const el = c.el;
      if (c.kind === 'boolean') { out[key] = el.checked; continue; }
      if (c.kind === 'enum') { if (el.value !== '') out[key] = c.prop.enum[Number(el.value)]; continue; }
      const txt = el.value;
      if (txt.trim() === '') { if (required.has(key) && c.kind === 'string') out[key] = ''; continue; }
      if (c.kind === 'number' || c.kind === 'integer') {
        const n = Number(txt);
        if (!Number.isFinite(n)) throw fieldErr(key, `${key} must be a number`);
        out[key] = n;
      } else if (c.kind === 'string') {
        out[key] = txt;
      } else {
        try { out[key] = JSON.parse(txt); } catch (e) { throw fieldErr(key, `${key} is not valid JSON: ${e.message}`); }
      }
    }
    return out;
  };
  const fieldErr = (key, msg) => Object.assign(new Error(msg), { inputKey: key });

  const readRaw = () => {
    const txt = raw.value.trim();
    if (!txt) return {};
    let v;
    try { v = JSON.parse(txt); } catch (e) { throw Object.assign(new Error(`Input is not valid JSON: ${e.message}`), { inputKey: '' }); }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw Object.assign(new Error('Input must be a JSON object'), { inputKey: '' });
    return v;
  };

  const fillForm = (obj) => {
    for (const [key, c] of controls) {
      const v = obj[key];
      if (c.kind === 'boolean') c.el.checked = v === true;
      else if (c.kind === 'enum') {
        const i = v === undefined ? -1 : c.prop.enum.findIndex((o) => JSON.stringify(o) === JSON.stringify(v));
        c.el.value = i >= 0 ? String(i) : '';
      } else if (c.kind === 'json') c.el.value = v === undefined ? '' : JSON.stringify(v);
      else c.el.value = v === undefined || v === null ? '' : String(v);
    }
  };

  const setMode = (toRaw) => {
    rawErr.hidden = true;
    if (toRaw) {
      let cur = {};
      try { cur = readForm(); } catch { cur = {}; }
      if (!rawMode || !raw.value.trim()) raw.value = JSON.stringify(cur, null, 2);
    } else {
      let obj;
      try { obj = readRaw(); } catch (e) { rawErr.textContent = e.message; rawErr.hidden = false; return; }
      fillForm(obj);
    }
    rawMode = toRaw;
    formBox.hidden = rawMode;
    rawBox.hidden = !rawMode;
    toggle.textContent = rawMode ? 'Use the form' : 'Edit as raw JSON';
    toggle.setAttribute('aria-pressed', String(rawMode));
  };
  toggle.addEventListener('click', () => setMode(!rawMode));
  if (!props || controls.size === 0) {
    toggle.hidden = true;
    raw.value = JSON.stringify(initial || {}, null, 2);
  }
  formBox.hidden = rawMode;
  rawBox.hidden = !rawMode;

  const el = h('div', { class: 'schema-form' },
    h('div', { class: 'schema-bar' }, controls.size ? null : h('span', { class: 'muted' }, 'This script declares no input properties; the input is a JSON object.'), toggle),
    formBox, rawBox, general);

  el.value = () => {
    general.hidden = true;
    rawErr.hidden = true;
    try {
      return rawMode ? readRaw() : readForm();
    } catch (e) {
      el.showError(e.inputKey || '', e.message);
      throw e;
    }
  };
  // Show an error next to an input property ("segment_path" or "input.segment_path").
  // Several errors may be shown at once (a 422's `errors`); the first one
  // shown since clearErrors() takes the focus.
  let focused = false;
  const addLine = (p, msg) => {
    p.textContent = p.hidden || !p.textContent ? msg : `${p.textContent} ${msg}`;
    p.hidden = false;
  };
  el.showError = (fieldName, msg) => {
    const key = String(fieldName || '').replace(/^input[./]?/, '').split(/[.[/]/)[0];
    const c = controls.get(key);
    if (c && !rawMode) {
      addLine(c.err, msg);
      c.el.setAttribute('aria-invalid', 'true');
      if (!focused) { c.el.focus(); focused = true; }
      return;
    }
    if (rawMode) { addLine(rawErr, msg); return; }
    addLine(general, msg);
  };
  el.clearErrors = () => {
    focused = false;
    general.hidden = true; rawErr.hidden = true;
    general.textContent = ''; rawErr.textContent = '';
    for (const c of controls.values()) { c.err.hidden = true; c.err.textContent = ''; c.el.removeAttribute('aria-invalid'); }
  };
  // An error goes away as soon as its field is changed.
  for (const c of controls.values()) {
    const clearOne = () => { c.err.hidden = true; c.err.textContent = ''; c.el.removeAttribute('aria-invalid'); };
    c.el.addEventListener('input', clearOne);
    c.el.addEventListener('change', clearOne);
  }
  raw.addEventListener('input', () => { rawErr.hidden = true; rawErr.textContent = ''; });
  el.reset = (obj) => { fillForm(obj || {}); raw.value = JSON.stringify(obj || {}, null, 2); };
  return el;
}
