// Rendering of one execution (used by the execution page and the script's run panel),
// updated in place while it runs so the logs keep their scroll position and search.
import { h, replace, statusBadge, outputPane, confirmDialog } from './dom.js';
import { api, ApiError } from './api.js';
import { timeEl, duration, hashEl, bytes, ACTIVE } from './format.js';
import { logViewer } from './log-viewer.js';

// executionPanel(ctx, {compact, rerun, deliveries})
//   rerun(ex): offered (to roles that may run) once the execution has its
//   input; deliveries: show its completion callbacks' deliveries.
export function executionPanel(ctx, { compact = false, rerun = null, deliveries = false } = {}) {
  const head = h('div', { class: 'exec-head' });
  const facts = h('dl', { class: 'facts' });
  const errorBox = h('div', { class: 'exec-error', role: 'alert', hidden: true, dataset: { exec: 'error' } });
  const inputPre = h('pre', { class: 'pane pane-small', tabindex: '0', dataset: { pane: 'input' } });
  const inputBox = h('section', { class: 'pane-box' }, h('div', { class: 'pane-head' }, h('h3', null, 'Input')), inputPre);
  const stdout = logViewer('stdout', { name: 'stdout' });
  const stderr = logViewer('stderr', { name: 'stderr' });
  const outputPre = h('pre', { class: 'pane pane-small', tabindex: '0', dataset: { pane: 'output' } });
  const outputBox = h('section', { class: 'pane-box', hidden: true }, h('div', { class: 'pane-head' }, h('h3', null, 'Output (parsed stdout JSON)')), outputPre);
  const fileBox = h('div', { hidden: true });
  const downloads = h('div', { class: 'downloads' });
  const cancelBtn = h('button', { type: 'button', class: 'btn btn-danger', hidden: true, dataset: { action: 'cancel' } }, 'Cancel execution…');
  const rerunBtn = h('button', { type: 'button', class: 'btn', hidden: true, dataset: { action: 'rerun' } }, 'Run again with this input');
  const delivBox = deliveries ? deliveriesPanel(ctx) : null;

  let current = null;
  let onChange = null;
  let fileKey = null;
  let delivPhase = null;

  cancelBtn.addEventListener('click', async () => {
    if (!current) return;
    const id = current.id;
    const ok = await confirmDialog({
      title: `Cancel execution #${id}?`,
      message: current.status === 'queued'
        ? 'It has not started yet: it will not run.'
        : 'The script and every process it started are stopped (SIGTERM, then SIGKILL after the grace period).',
      confirmLabel: 'Cancel execution',
      cancelLabel: 'Keep it running',
      danger: true,
    });
    if (!ok) { cancelBtn.focus(); return; }
    cancelBtn.disabled = true;
    try {
      const ex = await api.cancel(id);
      ctx.flash(`Execution ${id} canceled.`, 'info');
      if (ex && ex.id) update(ex);
      if (onChange) onChange(ex);
    } catch (e) {
      if (e.status === 409) {
        ctx.flash(`Execution ${id} had already finished.`, 'info');
        try { update(await api.execution(id)); } catch { /* ignore */ }
      } else ctx.fail(e, 'Could not cancel: ');
    }
    cancelBtn.disabled = false;
  });

  rerunBtn.addEventListener('click', async () => {
    if (!current || !rerun) return;
    rerunBtn.disabled = true;
    try { await rerun(current); } finally { rerunBtn.disabled = false; }
  });

  const download = async (which, btn) => {
    btn.disabled = true;
    try {
      const blob = await api.stream(current.id, which);
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `execution-${current.id}.${which}`, hidden: true });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (e) {
      ctx.fail(e, `Could not download ${which}: `);
    }
    btn.disabled = false;
  };
  const dlButtons = ['stdout', 'stderr'].map((w) => {
    const b = h('button', { type: 'button', class: 'btn btn-small', dataset: { download: w } }, `Download raw ${w}`);
    b.addEventListener('click', () => download(w, b));
    return b;
  });
  replace(downloads, dlButtons);

  const fact = (label, value, key) => [h('dt', null, label), h('dd', { dataset: { fact: key } }, value)];

  function update(ex) {
    current = ex;
    const active = ACTIVE.has(ex.status);
    replace(head,
      statusBadge(ex.status),
      h('a', { href: `#/executions/${ex.id}`, class: 'exec-id' }, `Execution #${ex.id}`),
      ' of ',
      ex.script_id != null ? h('a', { href: `#/scripts/${ex.script_id}`, dataset: { link: 'script' } }, ex.script_name || `script ${ex.script_id}`)
        : h('span', null, ex.script_name || '?'),
      active ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : null);
    cancelBtn.hidden = !active || !ctx.can.cancel;
    rerunBtn.hidden = active || !rerun || !ctx.can.run || ex.input === undefined || ex.script_id == null;
    let exitVal;
    if (ex.signal != null && ex.signal !== '') exitVal = h('span', { class: 'bad' }, `signal ${ex.signal}`);
    else if (ex.exit_code != null) exitVal = h('span', { class: ex.exit_code === 0 ? 'good' : 'bad' }, String(ex.exit_code));
    else exitVal = h('span', { class: 'muted' }, active ? 'running…' : '—');
    replace(facts,
      fact('Status', ex.status, 'status'),
      fact(ex.signal != null && ex.signal !== '' ? 'Signal' : 'Exit code', exitVal, 'exit'),
      fact('Duration', duration(ex.duration_ms), 'duration'),
      fact('Trigger', ex.triggered_by ? `${ex.trigger || '—'} (${ex.triggered_by})` : (ex.trigger || '—'), 'trigger'),
      fact('Queued', timeEl(ex.queued_at), 'queued'),
      fact('Started', timeEl(ex.started_at), 'started'),
      fact('Finished', timeEl(ex.finished_at), 'finished'),
      compact ? null : fact('Overhead', overhead(ex), 'overhead'),
      fact('Node', ex.node || '—', 'node'),
      fact('Version', hashEl(ex.script_version, 16), 'version'),
      compact ? null : fact('CPU user / system', ex.cpu_user_ms == null ? '—' : `${ex.cpu_user_ms} ms / ${ex.cpu_system_ms ?? '—'} ms`, 'cpu'),
      compact ? null : fact('Max RSS', ex.max_rss_kb == null ? '—' : bytes(ex.max_rss_kb * 1024), 'rss'),
      ex.limit ? fact('Limit hit', ex.limit, 'limit') : null);
    errorBox.hidden = !ex.error;
    if (ex.error) replace(errorBox, h('strong', null, 'Error: '), h('pre', { class: 'inline-pre' }, String(ex.error)));
    if (ex.input !== undefined) {
      inputBox.hidden = false;
      inputPre.textContent = JSON.stringify(ex.input, null, 2);
    } else inputBox.hidden = true;

    stdout.update(ex.stdout, ex.stdout_truncated, { live: active });
    stderr.update(ex.stderr, ex.stderr_truncated, { live: active });
    outputBox.hidden = ex.output === undefined || ex.output === null;
    if (!outputBox.hidden) outputPre.textContent = JSON.stringify(ex.output, null, 2);
    renderFile(ex);
    // Deliveries start when the run ends: look when it is shown, and again then.
    const phase = `${ex.id}:${active ? 'active' : 'final'}`;
    if (delivBox && phase !== delivPhase) { delivPhase = phase; delivBox.load(ex.id); }
  }

  function renderFile(ex) {
    const of = ex.output_file;
    const key = JSON.stringify(of ?? null);
    if (key === fileKey) return;
    fileKey = key;
    if (of === null || of === undefined) { fileBox.hidden = true; return; }
    fileBox.hidden = false;
    if (typeof of === 'string') {
      replace(fileBox, outputPane('Output file', of, { name: 'output_file' }));
    } else if (of && typeof of.base64 === 'string') {
      const btn = h('button', { type: 'button', class: 'btn btn-small', dataset: { download: 'output_file' } }, 'Download output file');
      btn.addEventListener('click', () => {
        try {
          const bin = atob(of.base64);
          const arr = new Uint8Array(bin.length);
          for (let i = 0; i < bin.length; i += 1) arr[i] = bin.charCodeAt(i);
          const url = URL.createObjectURL(new Blob([arr], { type: 'application/octet-stream' }));
          const a = h('a', { href: url, download: `execution-${ex.id}.output`, hidden: true });
          document.body.appendChild(a); a.click(); a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 60000);
        } catch (e) { ctx.fail(e); }
      });
      replace(fileBox, h('section', { class: 'pane-box' },
        h('div', { class: 'pane-head' }, h('h3', null, 'Output file')),
        h('p', null, `Binary content, ${bytes(Math.floor(of.base64.length * 3 / 4))}. `, btn)));
    } else {
      replace(fileBox, h('section', { class: 'pane-box' }, h('div', { class: 'pane-head' }, h('h3', null, 'Output file')),
        h('pre', { class: 'pane pane-small' }, JSON.stringify(of, null, 2))));
    }
  }

  const el = h('div', { class: 'exec-panel' },
    h('div', { class: 'exec-top' }, head, h('div', { class: 'actions' }, rerunBtn, cancelBtn)),
    errorBox, facts,
    h('div', { class: 'panes' }, stdout, stderr),
    downloads, outputBox, fileBox, inputBox, delivBox);
  el.update = update;
  el.onChange = (fn) => { onChange = fn; };
  el.current = () => current;
  return el;
}

function overhead(ex) {
  const q = ex.queued_at ? Date.parse(ex.queued_at) : NaN;
  const s = ex.started_at ? Date.parse(ex.started_at) : NaN;
  if (Number.isNaN(q) || Number.isNaN(s)) return '—';
  return `${duration(s - q)} (queued → started)`;
}

// The completion callbacks' deliveries of an execution (API.md "Completion
// callbacks"): shown when there are some; nothing at all when there are
// none, or when the server has no such endpoint (an older daemon: 404).
function deliveriesPanel(ctx) {
  const body = h('div', { class: 'table-wrap' });
  const box = h('section', { class: 'card deliveries', hidden: true, 'aria-labelledby': 'deliv-h', dataset: { panel: 'deliveries' } },
    h('h2', { id: 'deliv-h' }, 'Callback deliveries'), body);
  let timer = null;
  let seq = 0;
  ctx.onCleanup(() => clearTimeout(timer));
  box.load = async (id) => {
    clearTimeout(timer);
    const my = ++seq;
    let list;
    try {
      list = await api.deliveries(id);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status === 401) return;
      if (my === seq) box.hidden = true; // 404 (no endpoint), 403...: nothing to show
      return;
    }
    if (my !== seq || !ctx.alive()) return;
    box.hidden = !list.length;
    if (!list.length) return;
    replace(body, h('table', { class: 'grid stack', id: 'deliveries-table' },
      h('thead', null, h('tr', null, ['URL', 'Status', 'Attempts', 'Last answer', 'Next attempt', 'Delivered'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, list.map((d) => h('tr', { dataset: { deliveryId: d.id, status: d.status } },
        h('td', { dataset: { label: 'URL' } }, h('code', { class: 'wrap-any' }, d.url || '—')),
        h('td', { dataset: { label: 'Status' } }, statusBadge(d.status)),
        h('td', { class: 'num', dataset: { label: 'Attempts' } }, String(d.attempts ?? '—')),
        h('td', { dataset: { label: 'Last answer' } }, d.last_status_code != null ? `HTTP ${d.last_status_code}` : '',
          d.last_error ? h('div', { class: 'sub wrap-any' }, d.last_error) : (d.last_status_code == null ? '—' : null)),
        h('td', { dataset: { label: 'Next attempt' } }, timeEl(d.next_attempt_at)),
        h('td', { dataset: { label: 'Delivered' } }, timeEl(d.delivered_at)))))));
    // Pending ones are retried by the server: look again now and then.
    if (list.some((d) => d.status === 'pending')) timer = setTimeout(() => { if (ctx.alive()) box.load(id); }, 5000);
  };
  return box;
}

// Poll an execution until it reaches a final status. Returns a stop function.
export function follow(ctx, id, panel, { interval = 1000, onFinal } = {}) {
  let stopped = false;
  let timer = null;
  const tick = async () => {
    if (stopped || !ctx.alive()) return;
    try {
      const ex = await api.execution(id);
      if (stopped || !ctx.alive()) return;
      panel.update(ex);
      if (!ACTIVE.has(ex.status)) { if (onFinal) onFinal(ex); return; }
    } catch (e) {
      if (stopped || !ctx.alive()) return;
      if (e.status === 401) return;
      ctx.fail(e, 'While following the execution: ');
      if (e.status === 404) return;
    }
    timer = setTimeout(tick, interval);
  };
  const stop = () => { stopped = true; clearTimeout(timer); };
  ctx.onCleanup(stop);
  timer = setTimeout(tick, interval);
  return stop;
}

// The top-level input properties a script marks secret (their stored
// values read "***", so a re-run needs them typed again).
export function secretKeys(inputs) {
  const props = inputs && typeof inputs === 'object' && inputs.properties && typeof inputs.properties === 'object' ? inputs.properties : {};
  return Object.entries(props).filter(([, p]) => p && p.secret === true).map(([k]) => k);
}
