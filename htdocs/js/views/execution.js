// One execution: its full log, downloads, cancel while it runs, a re-run
// with the same input, its callback deliveries. An unknown id is a 404,
// which the router turns into the not-found page.
import { h } from '../dom.js';
import { api, ApiError } from '../api.js';
import { ACTIVE } from '../format.js';
import { executionPanel, follow, secretKeys } from '../execution-panel.js';

export async function render(ctx) {
  const id = ctx.params.id;
  const ex = await api.execution(id);
  if (!ctx.alive()) return;
  const panel = executionPanel(ctx, { rerun: (cur) => rerun(ctx, cur), deliveries: true });
  ctx.root.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: '#/executions' }, 'Executions'), ' / ',
      ex.script_id != null ? [h('a', { href: `#/executions?script_id=${ex.script_id}` }, ex.script_name || `script ${ex.script_id}`), ' / '] : null,
      `#${ex.id}`),
    h('h1', null, `Execution #${ex.id}`),
    panel);
  panel.update(ex);
  let stop = null;
  const startFollow = () => { if (!stop) stop = follow(ctx, ex.id, panel, { interval: 1000, onFinal: () => { stop = null; } }); };
  if (ACTIVE.has(ex.status)) startFollow();
  panel.onChange((e) => { if (e && ACTIVE.has(e.status)) startFollow(); });
}

// Starts the script again with this execution's input and opens the new
// execution. A secret input was stored as "***": then the script's run
// form opens, filled with the rest, for the secret to be typed again.
async function rerun(ctx, ex) {
  let script;
  try {
    script = await api.script(ex.script_id);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) ctx.flash('The script of this execution was deleted: it cannot run again.', 'error');
    else ctx.fail(e, 'Could not run it again: ');
    return;
  }
  if (!ctx.alive()) return;
  if (!script.enabled) {
    ctx.flash(`${script.name} is disabled: it cannot run until an admin enables it.`, 'error');
    return;
  }
  const masked = secretKeys(script.inputs).filter((k) => ex.input && ex.input[k] === '***');
  if (masked.length) {
    ctx.flash(`Type ${masked.join(', ')} again: secret inputs are not kept.`, 'info', { next: true });
    ctx.navigate(`/scripts/${script.id}?rerun=${ex.id}`);
    return;
  }
  try {
    const nx = await api.startExecution(script.id, ex.input || {});
    ctx.flash(`Started execution #${nx.id} with the input of #${ex.id}.`, 'info', { next: true });
    ctx.navigate(`/executions/${nx.id}`);
  } catch (e) {
    ctx.fail(e, 'Could not run it again: ');
  }
}
