// Run statistics of a script and an SVG chart of its last runs' durations,
// drawn here with DOM calls (no library). Colours come from CSS classes
// (app.css, .chart): the CSP allows no inline style.
import { duration } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

// Success over the final runs of a list: {final, succeeded, rate (0..1 or null)}.
export function runStats(executions) {
  const final = executions.filter((e) => !['queued', 'running'].includes(e.status));
  const succeeded = final.filter((e) => e.status === 'succeeded').length;
  return { final: final.length, succeeded, rate: final.length ? succeeded / final.length : null };
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

// durationChart(executions newest first) -> <svg>: one bar per run, oldest
// on the left, its height the run's duration, its colour its status; runs
// without a duration (never started) are a short grey mark.
export function durationChart(executions, { height = 120 } = {}) {
  const runs = [...executions].reverse();
  const W = 600;
  const H = height;
  const left = 56;
  const top = 8;
  const bottom = 18;
  const plotH = H - top - bottom;
  const durs = runs.map((e) => (Number.isFinite(Number(e.duration_ms)) && e.duration_ms !== null ? Number(e.duration_ms) : null));
  const known = durs.filter((d) => d !== null);
  const max = known.length ? Math.max(...known) : 0;
  const med = median(known);
  const label = runs.length
    ? `Durations of the last ${runs.length} runs, oldest first: median ${duration(med)}, longest ${duration(max || null)}.`
    : 'No runs yet.';
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, 'data-chart': 'durations' },
    s('title', null, label));
  svg.dataset.bars = String(runs.length);
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
