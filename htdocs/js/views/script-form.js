// Register a script (#/scripts/new) or edit one (#/scripts/:id/edit).
import { h, replace } from '../dom.js';
import { api, ApiError } from '../api.js';
import { field, jsonEditor, argsEditor } from '../widgets.js';

const FIELD_ORDER = ['name', 'type', 'path', 'description', 'enabled', 'requirements', 'args',
  'input_mode', 'inputs', 'outputs', 'env', 'timeout_s', 'max_concurrency'];

export async function render(ctx) {
  const editing = Boolean(ctx.params.id);
  let orig = null;
  if (editing) {
    orig = await api.script(ctx.params.id);
    if (!ctx.alive()) return;
  }
  const s = orig || { type: 'shell', enabled: true, input_mode: 'both', args: [], timeout_s: 300, max_concurrency: null };

  const f = {};
  f.name = field('name', 'Name', h('input', { type: 'text', value: s.name || '', required: true, autocomplete: 'off', spellcheck: 'false', maxlength: '64' }),
    { help: 'Unique; lower-case letters, digits, ".", "_", "-"; starts with a letter.' });
  f.type = field('type', 'Runtime type', h('select', null,
    ['shell', 'python', 'binary'].map((t) => h('option', { value: t, selected: s.type === t }, t))),
  { help: 'shell: /bin/sh unless the file has a #! line; python: runs in a venv; binary: an ELF executable.' });
  f.path = field('path', 'Path', h('input', { type: 'text', class: 'mono', value: s.path || '', required: true, autocomplete: 'off', spellcheck: 'false' }),
    { help: 'Absolute path of a file inside one of the script roots below.', wide: true });
  // The roots this node allows (GET /admin/config), and any the run user
  // cannot reach: said before a registration is refused for it.
  const roots = h('div', { class: 'roots', id: 'path-roots', dataset: { roots: '' }, 'aria-live': 'polite' });
  f.path.el.appendChild(roots);
  f.path.input.setAttribute('aria-describedby', `${f.path.input.getAttribute('aria-describedby')} path-roots`);
  f.description = field('description', 'Description', h('textarea', { rows: '2' }), { wide: true });
  f.description.input.value = s.description || '';
  const enabledBox = h('input', { type: 'checkbox', checked: s.enabled !== false });
  f.enabled = field('enabled', 'Enabled', enabledBox, { help: 'A disabled script keeps its history but cannot be run.' });
  f.requirements = field('requirements', 'Requirements (requirements.txt)', h('textarea', { class: 'mono', rows: '5', spellcheck: 'false', placeholder: 'numpy==1.26.4\npillow>=10' }),
    { help: 'Python only. The venv is keyed by the normalized requirements.', wide: true });
  f.requirements.input.value = s.requirements || '';
  const inputsEd = jsonEditor('inputs', s.inputs, { rows: 8, placeholder: '{"type": "object", "required": ["segment_path"], "properties": {"segment_path": {"type": "string"}}}' });
  const argsEd = argsEditor(s.args || [], () => {
    const r = inputsEd.parse();
    return r.ok && r.value && r.value.properties && typeof r.value.properties === 'object' ? Object.keys(r.value.properties) : [];
  });
  f.args = field('args', 'Arguments template', argsEd,
    { help: 'One entry per argv element; {key} takes the input\'s top-level value. No shell parses it.', wide: true });
  f.input_mode = field('input_mode', 'Input mode', h('select', null,
    [['both', 'both (stdin JSON and INPUT_* env)'], ['stdin', 'stdin (JSON)'], ['env', 'env (INPUT_*)']].map(([v, l]) => h('option', { value: v, selected: (s.input_mode || 'both') === v }, l))));
  f.inputs = field('inputs', 'Inputs (JSON Schema subset)', inputsEd,
    { help: 'type, properties, required, enum, minimum, maximum, maxLength, items. Every run\'s input is checked against it.', wide: true });
  inputsEd.textarea.addEventListener('input', () => argsEd.refreshChips());
  f.outputs = field('outputs', 'Outputs', jsonEditor('outputs', s.outputs, { rows: 3, placeholder: '{"stdout": "text", "file": "result.png"}' }),
    { help: '"stdout": "text" or "json"; "file": a path relative to the work dir whose content is captured.', wide: true });
  f.env = field('env', 'Environment', jsonEditor('env', s.env, { rows: 3, placeholder: '{"STUDIO": "acme"}' }),
    { help: 'Extra environment variables (strings) for the script.', wide: true });
  f.timeout_s = field('timeout_s', 'Timeout (seconds)', h('input', { type: 'number', min: '1', step: '1', value: s.timeout_s ?? '' }),
    { help: 'At least 1 second.' });
  f.max_concurrency = field('max_concurrency', 'Max concurrency', h('input', { type: 'number', min: '1', step: '1', value: s.max_concurrency ?? '', placeholder: 'no limit' }),
    { help: 'Empty: no limit.' });

  const syncType = () => {
    const py = f.type.input.value === 'python';
    f.requirements.el.hidden = !py;
  };
  // The type follows the file until it is chosen by hand: at once from
  // its name, then from what the server finds in the file itself
  // (POST /admin/scripts/inspect: its #! line, an ELF header, libmagic),
  // asked once the path has stopped changing for a moment.
  const typeNote = h('p', { class: 'help', dataset: { typeGuess: '' }, 'aria-live': 'polite' });
  f.type.el.appendChild(typeNote);
  // What the file is (libmagic's words), or why no script can have it.
  const pathInfo = h('div', { class: 'path-info', id: 'path-info', dataset: { pathInfo: '' }, 'aria-live': 'polite' });
  f.path.el.insertBefore(pathInfo, roots);
  f.path.input.setAttribute('aria-describedby', `${f.path.input.getAttribute('aria-describedby')} path-info`);
  let typeChosen = editing;
  // source: 'name' or 'file'.
  const setGuess = (type, source, why) => {
    if (typeChosen) return;
    delete typeNote.dataset.source;
    if (!type) { typeNote.textContent = ''; return; }
    if (f.type.input.value !== type) { f.type.input.value = type; syncType(); }
    typeNote.dataset.source = source;
    typeNote.textContent = `Guessed ${why}; pick another if it is wrong.`;
  };
  const guessFromName = () => {
    const g = guessType(f.path.input.value);
    setGuess(g && g.type, 'name', g ? `from the file name (${g.why})` : '');
  };
  f.type.input.addEventListener('change', () => { typeChosen = true; typeNote.textContent = ''; syncType(); });
  let inspectTimer = null;
  let asked = 0; // the latest question: older answers are dropped
  const inspectPath = async () => {
    const p = f.path.input.value.trim();
    const n = ++asked;
    if (!p.startsWith('/')) { replace(pathInfo); delete pathInfo.dataset.state; return; }
    let info = null;
    let refusal = null;
    try {
      info = await api.inspectPath(p);
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) refusal = e.message;
      else if (!(e instanceof ApiError)) throw e;
      // Any other failure (a role without the right, the API away): the
      // form works without; the registration says the rest.
    }
    if (!ctx.alive() || n !== asked) return;
    if (refusal) {
      pathInfo.dataset.state = 'refused';
      replace(pathInfo, h('p', { class: 'help' }, h('span', { class: 'bad' }, refusal.charAt(0).toUpperCase() + refusal.slice(1))));
      return;
    }
    if (!info) { replace(pathInfo); delete pathInfo.dataset.state; return; }
    pathInfo.dataset.state = 'found';
    pathInfo.dataset.typeGuess = info.type_guess || '';
    replace(pathInfo,
      h('p', { class: 'help' }, 'The file: ', h('span', { dataset: { magic: '' } }, info.description || 'of a kind libmagic cannot tell'),
        info.executable ? ' (executable by the run user)' : ''),
      info.problems && info.problems.length
        ? h('ul', { class: 'path-problems', dataset: { problems: '' } }, info.problems.map((m) => h('li', { class: 'bad' }, m)))
        : null);
    if (info.type_guess) setGuess(info.type_guess, 'file', 'from what the file holds (shown under the path)');
    else guessFromName();
  };
  f.path.input.addEventListener('input', () => {
    guessFromName();
    clearTimeout(inspectTimer);
    inspectTimer = setTimeout(() => { inspectPath().catch((e) => ctx.fail(e)); }, 400);
  });
  ctx.onCleanup(() => clearTimeout(inspectTimer));
  syncType();

  const general = h('div', { class: 'form-error', role: 'alert', hidden: true, id: 'form-error' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, editing ? 'Save changes' : 'Register script');
  const cancelHref = editing ? `#/scripts/${s.id}` : '#/scripts';
  const form = h('form', { class: 'script-form', novalidate: true, id: 'script-form' },
    h('fieldset', null, h('legend', null, 'Identity'),
      h('div', { class: 'grid-fields' }, f.name.el, f.type.el, f.path.el, f.description.el, f.enabled.el)),
    h('fieldset', null, h('legend', null, 'Invocation'),
      h('div', { class: 'grid-fields' }, f.args.el, f.input_mode.el, f.inputs.el, f.outputs.el, f.env.el, f.requirements.el)),
    h('fieldset', null, h('legend', null, 'Limits'),
      h('div', { class: 'grid-fields' }, f.timeout_s.el, f.max_concurrency.el)),
    general,
    h('div', { class: 'actions' }, submit, h('a', { class: 'btn', href: cancelHref }, 'Cancel')));

  const clearErrors = () => { for (const k of FIELD_ORDER) f[k].setError(''); replace(general); general.hidden = true; };
  const showGeneral = (msg, items = []) => {
    replace(general, h('p', null, msg), items.length ? h('ul', null, items.map((t) => h('li', null, t))) : null);
    general.hidden = false;
  };
  // A field's error goes as soon as the field is changed: an error stays
  // only as long as it is true of what the form holds.
  for (const k of FIELD_ORDER) {
    const clearOne = () => {
      if (!f[k].el.classList.contains('has-error')) return;
      f[k].setError('');
      if (!form.querySelector('.field.has-error') && !general.dataset.other) general.hidden = true;
    };
    f[k].el.addEventListener('input', clearOne);
    f[k].el.addEventListener('change', clearOne);
  }

  const collect = () => {
    const errors = {};
    const body = {
      name: f.name.input.value.trim(),
      type: f.type.input.value,
      path: f.path.input.value.trim(),
      description: f.description.input.value,
      enabled: enabledBox.checked,
      args: argsEd.values(),
      input_mode: f.input_mode.input.value,
    };
    for (const k of ['inputs', 'outputs', 'env']) {
      const r = f[k].input.parse();
      if (!r.ok) errors[k] = `${k} is ${r.error}`;
      else if (r.value !== undefined) body[k] = r.value;
      else if (editing && orig[k] != null) body[k] = null;
    }
    if (body.type === 'python') body.requirements = f.requirements.input.value;
    else if (editing && orig.requirements) body.requirements = null;
    const t = f.timeout_s.input.value.trim();
    if (t !== '') body.timeout_s = Number(t);
    const mc = f.max_concurrency.input.value.trim();
    body.max_concurrency = mc === '' ? null : Number(mc);
    return { body, errors };
  };

  // Every invalid field the server names (a 422's `errors`) is marked at
  // once, each next to its field; the first one takes the focus.
  const showServerErrors = (e) => {
    const list = e.errors.length ? e.errors : [{ field: e.field, message: e.message }];
    const byKey = new Map();
    const other = [];
    for (const fe of list) {
      const key = fe.field ? String(fe.field).split(/[.[/]/)[0] : '';
      if (key && f[key]) {
        byKey.set(key, byKey.has(key) ? `${byKey.get(key)} ${fe.message}` : fe.message);
      } else if (e.status === 409 && /name/i.test(fe.message)) {
        byKey.set('name', fe.message);
      } else other.push(fe.field ? `${fe.field}: ${fe.message}` : fe.message);
    }
    for (const [key, msg] of byKey) {
      f[key].setError(msg);
      if (key === 'requirements') f.requirements.el.hidden = false;
    }
    const n = byKey.size;
    general.dataset.other = other.length ? 'yes' : '';
    if (n) {
      showGeneral(`The server did not accept the script: ${n === 1 ? 'one field needs' : `${n} fields need`} fixing.`, other);
      f[FIELD_ORDER.find((k) => byKey.has(k))].focus();
    } else {
      showGeneral(other.length === 1 ? other[0] : 'The server did not accept the script:', other.length === 1 ? [] : other);
    }
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors();
    const { body, errors } = collect();
    const bad = Object.keys(errors);
    if (bad.length) {
      for (const k of bad) f[k].setError(errors[k]);
      showGeneral('Fix the marked fields.');
      f[bad[0]].focus();
      return;
    }
    submit.disabled = true;
    try {
      const saved = editing ? await api.updateScript(s.id, body) : await api.createScript(body);
      ctx.flash(editing ? `Saved ${saved.name}.` : `Registered ${saved.name}.`, 'info', { next: true });
      ctx.navigate(`/scripts/${saved.id}`);
    } catch (e) {
      submit.disabled = false;
      if (e instanceof ApiError && (e.status === 422 || e.status === 409 || e.status === 400)) {
        showServerErrors(e);
      } else {
        ctx.fail(e);
      }
    }
  });

  api.config().then((cfg) => {
    if (!ctx.alive() || !cfg) return;
    showRoots(roots, cfg.script_roots || []);
    const usable = (cfg.script_roots || []).find((r) => r.usable);
    if (usable) f.path.input.placeholder = `${usable.path.replace(/\/+$/, '')}/…`;
    if (cfg.max_timeout_s) {
      f.timeout_s.input.max = String(cfg.max_timeout_s);
      f.timeout_s.el.querySelector('.help').textContent = `1 to ${cfg.max_timeout_s} seconds${cfg.default_timeout_s ? ` (${cfg.default_timeout_s} if left empty)` : ''}.`;
    }
  }).catch(() => { /* the form works without */ });

  ctx.root.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/scripts' }, 'Scripts'),
      editing ? [' / ', h('a', { href: `#/scripts/${s.id}` }, s.name)] : null),
    h('h1', null, editing ? `Edit ${s.name}` : 'Register a script'),
    form);
  if (!editing) f.name.input.focus();
}

// The type a file's name suggests: {type, why} or null. (The server
// checks the file itself; this only saves picking the obvious.)
export function guessType(path) {
  const base = String(path || '').split('/').pop();
  if (!base) return null;
  if (/\.py[w3]?$/i.test(base)) return { type: 'python', why: 'ends in .py' };
  if (/\.(sh|bash|ksh|zsh|dash)$/i.test(base)) return { type: 'shell', why: `ends in .${base.split('.').pop()}` };
  if (!base.includes('.') || /\.(bin|elf|out)$/i.test(base)) return { type: 'binary', why: 'no script extension' };
  return null;
}

function showRoots(el, list) {
  if (!list.length) { replace(el, h('p', { class: 'help' }, 'This node has no script root configured: no script can be registered.')); return; }
  replace(el, h('p', { class: 'help' }, list.length === 1 ? 'Script root:' : 'Script roots:'),
    h('ul', { class: 'roots-list' }, list.map((r) => h('li', { dataset: { root: r.path, usable: String(Boolean(r.usable)) } },
      h('code', null, r.path),
      r.usable ? null : h('span', { class: 'bad' }, ` — not usable: ${r.problem || 'the run user cannot reach it'}`)))));
}
