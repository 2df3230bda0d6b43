// A script's run statistics: the success rate (GET /api/v1/executions/counts)
// and an SVG chart of its last runs' durations (…/durations), drawn here
// with DOM calls (no library). Colours come from CSS classes (app.css,
// .chart): the CSP allows no inline style.
import { h } from './dom.js';
import { api } from './api.js';
import { duration } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';
export const CHART_RUNS = 50;

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

export function percent(rate) {
  if (rate === null || rate === undefined) return '—';
  const p = rate * 100;
  return `${p === 100 || p === 0 ? p.toFixed(0) : p.toFixed(1)} %`;
}

function median(vals) {
  if (!vals.length) return null;
  const v = [...vals].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// durationChart(runs oldest first: [{id, status, duration_ms}]) -> <svg>:
// one bar per run, its height the run's duration, its colour its status;
// a run without a duration (never started) is a short grey mark.
export function durationChart(runs, { height = 120 } = {}) {
  const W = 600;
  const H = height;
  const left = 56;
  const top = 8;
  const bottom = 18;
  const plotH = H - top - bottom;
  const durs = runs.map((e) => (e.duration_ms !== null && e.duration_ms !== undefined && Number.isFinite(Number(e.duration_ms)) ? Number(e.duration_ms) : null));
  const known = durs.filter((d) => d !== null);
  const max = known.length ? Math.max(...known) : 0;
  const med = median(known);
  const label = runs.length
    ? `Durations of the last ${runs.length} runs, oldest first: median ${duration(med)}, longest ${duration(max || null)}.`
    : 'No runs yet.';
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, 'data-chart': 'durations' },
    s('title', null, label));
  // Axis: the longest run at the top, zero at the bottom.
  svg.appendChild(s('line', { class: 'axis', x1: left, x2: W, y1: top + plotH, y2: top + plotH }));
  svg.appendChild(s('text', { class: 'axis-label', x: left - 6, y: top + 10, 'text-anchor': 'end' }, max ? duration(max) : '—'));
  svg.appendChild(s('text', { class: 'axis-label', x: left - 6, y: top + plotH, 'text-anchor': 'end' }, '0'));
  if (med !== null && max) {
    const y = top + plotH - (med / max) * plotH;
    svg.appendChild(s('line', { class: 'median', x1: left, x2: W, y1: y, y2: y }));
  }
  const n = Math.max(runs.length, 1);
  const slot = (W - left) / n;
  const bw = Math.max(1, Math.min(24, slot * 0.75));
  runs.forEach((e, i) => {
    const d = durs[i];
    const hgt = d === null ? 2 : Math.max(2, max ? (d / max) * plotH : 2);
    const x = left + i * slot + (slot - bw) / 2;
    svg.appendChild(s('rect', {
      class: `bar bar-${d === null ? 'none' : e.status}`, x: x.toFixed(1), y: (top + plotH - hgt).toFixed(1),
      width: bw.toFixed(1), height: hgt.toFixed(1), 'data-execution-id': e.id,
    }, s('title', null, `#${e.id} ${e.status}${d === null ? '' : `, ${duration(d)}`}`)));
  });
  return svg;
}

// The success rate of a script's runs (the server's: succeeded over the
// runs that ended by themselves; canceled ones say nothing of the script)
// and the chart of its last runs. Resolves to the elements to show.
export async function scriptStats(scriptId) {
  const [c, runs] = await Promise.all([
    api.executionCounts({ script_id: scriptId }),
    api.durations({ script_id: scriptId, limit: CHART_RUNS }),
  ]);
  const counts = (c && c.counts) || {};
  const total = (c && c.total) || 0;
  if (!total) return [h('p', { class: 'muted' }, 'No runs yet.')];
  const ended = ['succeeded', 'failed', 'timed_out', 'error', 'lost'].reduce((a, k) => a + (Number(counts[k]) || 0), 0);
  const rest = [];
  if (counts.canceled) rest.push(`${counts.canceled} canceled`);
  const going = (Number(counts.queued) || 0) + (Number(counts.running) || 0);
  if (going) rest.push(`${going} queued or running`);
  return [
    h('p', { class: 'stat-line' },
      h('strong', { dataset: { stat: 'rate' } }, percent(c.success_rate)), ' succeeded',
      h('span', { class: 'muted' }, ` (${counts.succeeded || 0} of the ${ended} run${ended === 1 ? '' : 's'} that ended by themselves`,
        rest.length ? `; ${rest.join(', ')}` : '', `; ${total} in all)`)),
    durationChart(runs),
  ];
}
