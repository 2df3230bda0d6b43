// Formatting of timestamps, durations, sizes and hashes.
import { h } from './dom.js';

const pad = (n, w = 2) => String(n).padStart(w, '0');

export function parseTime(s) {
  if (!s) return null;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function localTime(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function relative(d, now = Date.now()) {
  const diff = (now - d.getTime()) / 1000;
  const fut = diff < 0;
  const s = Math.abs(diff);
  let txt;
  if (s < 5) return 'just now';
  if (s < 60) txt = `${Math.round(s)} s`;
  else if (s < 3600) txt = `${Math.round(s / 60)} min`;
  else if (s < 86400) txt = `${Math.round(s / 3600)} h`;
  else if (s < 86400 * 45) txt = `${Math.round(s / 86400)} d`;
  else if (s < 86400 * 365) txt = `${Math.round(s / (86400 * 30))} mo`;
  else txt = `${Math.round(s / (86400 * 365))} y`;
  return fut ? `in ${txt}` : `${txt} ago`;
}

// <time> showing local time, with a relative hint and the UTC value on hover.
export function timeEl(s, { compact = false } = {}) {
  const d = parseTime(s);
  if (!d) return h('span', { class: 'muted' }, '—');
  const rel = relative(d);
  return h('time', { datetime: s, title: `${s} (UTC)` },
    compact ? rel : localTime(d),
    compact ? null : h('span', { class: 'rel' }, ` (${rel})`));
}

export function duration(ms) {
  if (ms === null || ms === undefined || ms === '') return '—';
  const v = Number(ms);
  if (!Number.isFinite(v)) return '—';
  if (v < 1000) return `${v.toFixed(v < 10 ? 1 : 0)} ms`;
  if (v < 60000) return `${(v / 1000).toFixed(2)} s`;
  const m = Math.floor(v / 60000);
  const sec = Math.round((v % 60000) / 1000);
  if (m < 60) return `${m} min ${sec} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const v = Number(n);
  if (!Number.isFinite(v)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = v;
  while (x >= 1024 && i < units.length - 1) { x /= 1024; i += 1; }
  return i === 0 ? `${v} B` : `${x.toFixed(x < 10 ? 1 : 0)} ${units[i]}`;
}

export function shortHash(v, n = 12) {
  if (!v) return '—';
  const s = String(v);
  const i = s.indexOf(':');
  const hex = i >= 0 ? s.slice(i + 1) : s;
  return hex.slice(0, n);
}

export function hashEl(v, n = 12) {
  if (!v) return h('span', { class: 'muted' }, '—');
  return h('code', { class: 'hash', title: String(v) }, shortHash(v, n));
}

export function json(v) {
  return JSON.stringify(v, null, 2);
}

export const ACTIVE = new Set(['queued', 'running']);
export const EXEC_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'canceled', 'error', 'lost'];
// What the server records as an execution's trigger (API.md): nothing else.
export const TRIGGERS = ['api', 'test', 'ui'];
export const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'canceled', 'error', 'lost']);
