// A viewer for one output stream (stdout, stderr, a build log): ANSI
// colours drawn as styled spans, line numbers, search with a match count,
// follow, jump to the end and to the "[... N bytes omitted ...]" marker,
// wrap, full screen. Output is only ever put in text nodes: the elements
// are this module's own (span, mark), their classes and CSSOM colours
// come from the parsed SGR numbers, never from the output's text.
//
// logViewer(label, {name, empty}) -> element with
//   update(text, truncated, {live})  new content; appended in place when
//                                    it extends the old one (a live run)
//   pre                              the scrolling element
import { h, nextId } from './dom.js';
import { parse, plainStyle, isPlain, paletteRgb, OMITTED_RE } from './ansi.js';

const MAX_MARKS = 5000; // matches highlighted at most (all are counted)

function colorCss(c) {
  const rgb = Array.isArray(c) ? c : paletteRgb(c);
  return rgb ? `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})` : '';
}

// One styled piece of a line: a text node, or a span carrying its style.
function styled(text, st) {
  if (isPlain(st)) return document.createTextNode(text);
  const span = document.createElement('span');
  const cls = [];
  let fg = st.fg;
  let bg = st.bg;
  if (st.inverse) {
    [fg, bg] = [bg, fg];
    if (fg === null) cls.push('a-inv-fg');
    if (bg === null) cls.push('a-inv-bg');
  }
  if (fg !== null) {
    if (typeof fg === 'number' && fg < 16) cls.push(`a-f${fg}`);
    else span.style.color = colorCss(fg);
  }
  if (bg !== null) {
    if (typeof bg === 'number' && bg < 16) cls.push(`a-b${bg}`);
    else span.style.backgroundColor = colorCss(bg);
  }
  if (st.bold) cls.push('a-bold');
  if (st.dim) cls.push('a-dim');
  if (st.italic) cls.push('a-it');
  if (st.underline) cls.push('a-ul');
  if (st.strike) cls.push('a-st');
  span.className = cls.join(' ');
  span.textContent = text;
  return span;
}

// Finds every match of needle (lower-case) in lines: [{line, start, end}].
function findAll(lines, needle) {
  const out = [];
  if (!needle) return out;
  for (let n = 0; n < lines.length; n += 1) {
    const hay = lines[n].lower ?? (lines[n].lower = lines[n].plain.toLowerCase());
    let at = hay.indexOf(needle);
    while (at >= 0) {
      out.push({ line: n, start: at, end: at + needle.length });
      at = hay.indexOf(needle, at + needle.length);
    }
  }
  return out;
}

export function logViewer(label, { name, empty = '(empty)' } = {}) {
  const key = name || label;
  const id = nextId(`log-${key}`);
  const pre = h('pre', { class: 'pane log', tabindex: '0', 'aria-label': label, id, dataset: { pane: key } });
  const info = h('span', { class: 'pane-info' });
  const flag = h('span', { class: 'badge st-warn', hidden: true, dataset: { truncated: key } }, 'truncated');
  const btn = (text, action, attrs = {}) => h('button', { type: 'button', class: 'btn btn-small btn-quiet', dataset: { log: action }, 'aria-controls': id, ...attrs }, text);

  const search = h('input', { type: 'search', class: 'log-search', placeholder: 'Search', 'aria-label': `Search ${label}`, autocomplete: 'off', spellcheck: 'false', dataset: { log: 'search' } });
  const count = h('span', { class: 'log-count', role: 'status', dataset: { log: 'count' } });
  const prevB = btn('↑', 'prev', { 'aria-label': `Previous match in ${label}`, disabled: true });
  const nextB = btn('↓', 'next', { 'aria-label': `Next match in ${label}`, disabled: true });
  const followB = btn('Follow', 'follow', { 'aria-pressed': 'false', title: 'Keep the end in view as output arrives' });
  const endB = btn('End', 'end', { 'aria-label': `Jump to the end of ${label}` });
  const omittedB = btn('Omitted part', 'omitted', { hidden: true, title: 'Jump to where the server left out the middle of the output' });
  const wrapB = btn('Wrap', 'wrap', { 'aria-pressed': 'false', 'aria-label': `Wrap lines of ${label}` });
  const fullB = btn('Full screen', 'full', { 'aria-pressed': 'false' });

  const box = h('section', { class: 'pane-box log-box', dataset: { log: key } },
    h('div', { class: 'pane-head' }, h('h3', null, label), flag, info),
    h('div', { class: 'log-tools' },
      h('span', { class: 'log-find' }, search, count, prevB, nextB),
      h('span', { class: 'log-moves' }, followB, endB, omittedB, wrapB, fullB)),
    pre);

  // The model: the text shown, its lines, and where the last line starts
  // (with the style in force there) to re-parse it when more arrives.
  let text = '';
  let lines = [];
  let tailOffset = 0;
  let tailStyle = plainStyle();
  let rows = []; // the line elements, one per shown line
  let matches = [];
  let current = -1;
  let marked = new Set(); // lines drawn with marks
  let needle = '';
  let follow = false;
  let lastAutoTop = -1;

  const shownCount = () => (lines.length && lines[lines.length - 1].plain === '' && text.endsWith('\n') ? lines.length - 1 : lines.length);

  function lineEl(n) {
    const line = lines[n];
    const el = document.createElement('span');
    el.className = 'll';
    el.dataset.n = String(n + 1);
    if (OMITTED_RE.test(line.plain)) { el.classList.add('ll-omitted'); el.dataset.omitted = ''; }
    fillLine(el, n);
    return el;
  }

  // Draws line n into el, with <mark>s around its matches.
  function fillLine(el, n) {
    while (el.firstChild) el.removeChild(el.firstChild);
    const line = lines[n];
    const ms = [];
    if (needle) {
      for (let i = lineFirstMatch(n); i >= 0 && i < matches.length && matches[i].line === n && i < MAX_MARKS; i += 1) ms.push([matches[i], i]);
    }
    if (!ms.length) {
      for (const seg of line.segments) el.appendChild(styled(seg.text, seg.style));
      return;
    }
    marked.add(n);
    let pos = 0;
    let mi = 0;
    let markEl = null;
    for (const seg of line.segments) {
      let off = 0;
      while (off < seg.text.length) {
        const abs = pos + off;
        while (mi < ms.length && ms[mi][0].end <= abs) { mi += 1; markEl = null; }
        const m = mi < ms.length ? ms[mi][0] : null;
        let stop;
        let inMark = false;
        if (m && abs >= m.start) { inMark = true; stop = Math.min(m.end - pos, seg.text.length); } else stop = m ? Math.min(m.start - pos, seg.text.length) : seg.text.length;
        const piece = styled(seg.text.slice(off, stop), seg.style);
        if (inMark) {
          if (!markEl) {
            markEl = document.createElement('mark');
            markEl.dataset.m = String(ms[mi][1]);
            if (ms[mi][1] === current) markEl.className = 'current';
            el.appendChild(markEl);
          }
          markEl.appendChild(piece);
        } else {
          markEl = null;
          el.appendChild(piece);
        }
        off = stop;
      }
      pos += seg.text.length;
    }
  }

  // Index of the first match in line n (matches are in line order), or -1.
  function lineFirstMatch(n) {
    let lo = 0;
    let hi = matches.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (matches[mid].line < n) lo = mid + 1; else hi = mid; }
    return lo < matches.length && matches[lo].line === n ? lo : -1;
  }

  function paintInfo(truncated) {
    const n = shownCount();
    info.textContent = text ? `${n} line${n === 1 ? '' : 's'}, ${text.length} chars` : '';
    flag.hidden = !truncated;
    pre.classList.toggle('empty', !text);
    pre.style.setProperty('--lnw', `${Math.max(2, String(n).length)}ch`);
    omittedB.hidden = !pre.querySelector('.ll-omitted');
  }

  function redrawAll() {
    while (pre.firstChild) pre.removeChild(pre.firstChild);
    rows = [];
    marked = new Set();
    if (!text) { pre.textContent = empty; return; }
    const frag = document.createDocumentFragment();
    const n = shownCount();
    for (let i = 0; i < n; i += 1) { const el = lineEl(i); rows.push(el); frag.appendChild(el); }
    pre.appendChild(frag);
  }

  // New text: appended in place when it extends the shown one (the
  // stream grows while a run goes on), drawn anew otherwise.
  function setText(t) {
    if (t === text) return false;
    if (text && t.startsWith(text)) {
      const r = parse(t.slice(tailOffset), tailStyle);
      // A last line without its "\n" yet may have grown: it is drawn again.
      if (!text.endsWith('\n') && rows.length) { rows.pop().remove(); marked.delete(rows.length); }
      lines.splice(lines.length - 1, 1, ...r.lines);
      tailOffset = t.lastIndexOf('\n') + 1;
      tailStyle = r.lastLineStyle;
      text = t;
      const frag = document.createDocumentFragment();
      for (let i = rows.length; i < shownCount(); i += 1) { const el = lineEl(i); rows.push(el); frag.appendChild(el); }
      pre.appendChild(frag);
      return true;
    }
    const r = parse(t);
    lines = r.lines;
    text = t;
    tailOffset = t.lastIndexOf('\n') + 1;
    tailStyle = r.lastLineStyle;
    if (needle) matches = findAll(lines, needle);
    redrawAll();
    return true;
  }

  // Search: every match counted, the current one marked and in view.
  function runSearch({ keepCurrent = false, reveal = true } = {}) {
    const old = marked;
    needle = search.value.toLowerCase();
    matches = findAll(lines, needle);
    if (!keepCurrent || current >= matches.length) current = matches.length ? 0 : -1;
    marked = new Set();
    const redo = new Set([...old, ...new Set(matches.slice(0, MAX_MARKS).map((m) => m.line))]);
    for (const n of redo) if (rows[n]) fillLine(rows[n], n);
    paintCount();
    if (reveal) revealCurrent();
  }

  function paintCount() {
    if (!needle) count.textContent = '';
    else if (!matches.length) count.textContent = 'no match';
    else count.textContent = `${current + 1} of ${matches.length} match${matches.length === 1 ? '' : 'es'}`;
    prevB.disabled = nextB.disabled = matches.length < 1;
  }

  function revealCurrent() {
    for (const m of pre.querySelectorAll('mark.current')) m.classList.remove('current');
    if (current < 0) return;
    const el = pre.querySelector(`mark[data-m="${current}"]`);
    if (el) { el.classList.add('current'); scrollInto(el); } else if (rows[matches[current].line]) scrollInto(rows[matches[current].line]);
  }

  // Scrolls the pane (not the page) so that el is in its middle.
  function scrollInto(el) {
    setFollow(false);
    const top = el.offsetTop - pre.clientHeight / 2;
    pre.scrollTop = Math.max(0, top);
    const left = el.offsetLeft - pre.clientWidth / 2;
    pre.scrollLeft = Math.max(0, left);
  }

  function step(d) {
    if (!matches.length) return;
    current = (current + d + matches.length) % matches.length;
    paintCount();
    revealCurrent();
  }

  function toEnd() {
    pre.scrollTop = pre.scrollHeight;
    lastAutoTop = pre.scrollTop;
  }

  function setFollow(on) {
    follow = on;
    followB.setAttribute('aria-pressed', String(on));
    if (on) toEnd();
  }

  let timer = null;
  search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => runSearch(), 150); });
  search.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') { ev.preventDefault(); clearTimeout(timer); if (needle !== search.value.toLowerCase()) runSearch(); else step(ev.shiftKey ? -1 : 1); }
  });
  prevB.addEventListener('click', () => step(-1));
  nextB.addEventListener('click', () => step(1));
  followB.addEventListener('click', () => setFollow(!follow));
  endB.addEventListener('click', () => { toEnd(); pre.focus({ preventScroll: true }); });
  omittedB.addEventListener('click', () => {
    const el = pre.querySelector('.ll-omitted');
    if (el) { scrollInto(el); el.classList.add('flash-line'); setTimeout(() => el.classList.remove('flash-line'), 1500); }
  });
  wrapB.addEventListener('click', () => {
    const on = pre.classList.toggle('wrap');
    wrapB.setAttribute('aria-pressed', String(on));
  });
  const setFull = (on) => {
    box.classList.toggle('log-full', on);
    document.body.classList.toggle('has-full-log', on);
    fullB.setAttribute('aria-pressed', String(on));
    fullB.textContent = on ? 'Exit full screen' : 'Full screen';
    if (on) pre.focus({ preventScroll: true });
  };
  fullB.addEventListener('click', () => setFull(!box.classList.contains('log-full')));
  box.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && box.classList.contains('log-full')) { ev.preventDefault(); setFull(false); fullB.focus(); }
  });
  // Scrolling up by hand stops following; back at the end starts it again.
  pre.addEventListener('scroll', () => {
    const atEnd = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 4;
    if (Math.abs(pre.scrollTop - lastAutoTop) < 2) return;
    if (follow && !atEnd) setFollow(false);
  });

  box.update = (t, truncated, { live = false } = {}) => {
    const s = t == null ? '' : String(t);
    const wasLive = box.dataset.live === 'true';
    box.dataset.live = String(live);
    if (live && !wasLive) setFollow(true); // a run starts being followed
    if (setText(s) && needle) runSearch({ keepCurrent: true, reveal: false });
    paintInfo(truncated);
    if (follow) toEnd();
  };
  box.pre = pre;
  box.update('', false);
  return box;
}
