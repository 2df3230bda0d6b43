// One execution: its full log, downloads, cancel while it runs.
import { h } from '../dom.js';
import { api } from '../api.js';
import { ACTIVE } from '../format.js';
import { executionPanel, follow } from '../execution-panel.js';

export async function render(ctx) {
  const id = ctx.params.id;
  const ex = await api.execution(id);
  if (!ctx.alive()) return;
  const panel = executionPanel(ctx);
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
