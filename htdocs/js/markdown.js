// A small Markdown renderer for the marketplace's documentation.
//
// It builds DOM nodes, never HTML text: every character of the source ends
// up in a text node (textContent), so markup in the source, <script> and
// all, shows as the characters it is. What it understands: ATX headings
// (# .. ######, one level down, so a document's "#" sits below the page's
// h1), paragraphs, "-"/"*"/"+" and "1." lists (nested by indentation),
// fenced (```) and indented code blocks, block quotes, pipe tables,
// horizontal rules; inline: code spans, **strong**, *emphasis*, _emphasis_,
// backslash escapes, hard breaks, and [text](url) links, which become links
// only for http and https URLs (opened in a new tab, without a referrer);
// any other link target shows as its text.

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+.-]*)\s*$/;
const HEADING = /^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const ITEM = /^( *)([-*+]|\d{1,9}[.)])(?:\s+(.*))?$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;
const TABLE_SEP = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;
const WEB = /^https?:\/\/[^\s<>]+$/i;

function el(tag, ...children) {
  const e = document.createElement(tag);
  for (const c of children) e.append(c);
  return e;
}

// ---- inline ------------------------------------------------------------

function link(label, url) {
  if (!WEB.test(url)) return label;
  const a = document.createElement('a');
  a.setAttribute('href', url);
  a.setAttribute('rel', 'noopener noreferrer');
  a.setAttribute('target', '_blank');
  a.append(...label);
  return [a];
}

// The closing delimiter `d` of an emphasis at s[i..], or -1.
function closing(s, i, d) {
  let j = i;
  for (;;) {
    j = s.indexOf(d, j);
    if (j < 0) return -1;
    if (s[j - 1] === '\\') { j += d.length; continue; }
    // Not right after whitespace, and _ not inside a word.
    if (j > i && !/\s/.test(s[j - 1]) && !(d[0] === '_' && /\w/.test(s[j + d.length] || ''))) return j;
    j += d.length;
  }
}

// Inline content of one block (its lines joined) as an array of nodes.
export function inline(s) {
  const out = [];
  let text = '';
  const flush = () => { if (text) { out.push(document.createTextNode(text)); text = ''; } };
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length && /[!-/:-@[-`{-~]/.test(s[i + 1])) {
      text += s[i + 1];
      i += 2;
      continue;
    }
    if (c === '\n') {
      // Two spaces (or a backslash) before a line end: a hard break.
      if (/ {2,}$/.test(text)) { text = text.replace(/ +$/, ''); flush(); out.push(el('br')); } else text += ' ';
      i += 1;
      continue;
    }
    if (c === '`') {
      const run = /^`+/.exec(s.slice(i))[0];
      const end = s.indexOf(run, i + run.length);
      if (end > 0) {
        flush();
        let code = s.slice(i + run.length, end).replace(/\n/g, ' ');
        if (/^ .* $/.test(code)) code = code.slice(1, -1);
        out.push(el('code', code));
        i = end + run.length;
        continue;
      }
      text += run;
      i += run.length;
      continue;
    }
    if (c === '[') {
      const m = /^\[((?:[^\]\\]|\\.)*)\]\(\s*<?([^\s)>]*)>?\s*\)/.exec(s.slice(i));
      if (m) {
        flush();
        out.push(...link(inline(m[1]), m[2]));
        i += m[0].length;
        continue;
      }
    }
    if (c === '<') {
      const m = /^<(https?:\/\/[^\s<>]+)>/i.exec(s.slice(i));
      if (m) {
        flush();
        out.push(...link([document.createTextNode(m[1])], m[1]));
        i += m[0].length;
        continue;
      }
    }
    if (c === '*' || c === '_') {
      const d = s.startsWith(c + c, i) ? c + c : c;
      const wordy = c === '_' && /\w/.test(s[i - 1] || '');
      const j = !wordy && !/\s/.test(s[i + d.length] || ' ') ? closing(s, i + d.length, d) : -1;
      if (j > 0) {
        flush();
        out.push(el(d.length === 2 ? 'strong' : 'em', ...inline(s.slice(i + d.length, j))));
        i = j + d.length;
        continue;
      }
      text += d;
      i += d.length;
      continue;
    }
    text += c;
    i += 1;
  }
  flush();
  return out;
}

// ---- blocks ------------------------------------------------------------

function cells(line) {
  let t = line.trim();
  if (t.startsWith('|')) t = t.slice(1);
  if (t.endsWith('|') && !t.endsWith('\\|')) t = t.slice(0, -1);
  const out = [];
  let cur = '';
  for (let i = 0; i < t.length; i += 1) {
    if (t[i] === '\\' && t[i + 1] === '|') { cur += '|'; i += 1; continue; }
    if (t[i] === '`') {
      // A pipe inside a code span does not split.
      const end = t.indexOf('`', i + 1);
      if (end > i) { cur += t.slice(i, end + 1); i = end; continue; }
    }
    if (t[i] === '|') { out.push(cur.trim()); cur = ''; continue; }
    cur += t[i];
  }
  out.push(cur.trim());
  return out;
}

function table(lines, i) {
  const head = cells(lines[i]);
  const align = cells(lines[i + 1]).map((c) => {
    if (c.startsWith(':') && c.endsWith(':')) return 'center';
    if (c.endsWith(':')) return 'right';
    return c.startsWith(':') ? 'left' : '';
  });
  const row = (tag, cs) => el('tr', ...head.map((_, k) => {
    const cell = el(tag, ...inline(cs[k] || ''));
    if (align[k]) cell.dataset.align = align[k];
    if (tag === 'th') cell.setAttribute('scope', 'col');
    return cell;
  }));
  const body = el('tbody');
  let j = i + 2;
  for (; j < lines.length && lines[j].includes('|') && lines[j].trim(); j += 1) body.append(row('td', cells(lines[j])));
  const wrap = el('div', el('table', el('thead', row('th', head)), body));
  wrap.className = 'md-table';
  return [wrap, j];
}

function startsBlock(lines, i) {
  const l = lines[i];
  return FENCE.test(l) || HEADING.test(l) || RULE.test(l) || QUOTE.test(l) || ITEM.test(l)
    || (l.includes('|') && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1]));
}

function list(lines, i) {
  const first = ITEM.exec(lines[i]);
  const indent = first[1].length;
  const ordered = /\d/.test(first[2]);
  const node = el(ordered ? 'ol' : 'ul');
  if (ordered && parseInt(first[2], 10) !== 1) node.setAttribute('start', String(parseInt(first[2], 10)));
  let j = i;
  let loose = false;
  while (j < lines.length) {
    const m = ITEM.exec(lines[j]);
    if (!m || m[1].length !== indent || /\d/.test(m[2]) !== ordered) break;
    const body = [m[3] || ''];
    const inner = indent + m[2].length + 1;
    j += 1;
    for (; j < lines.length; j += 1) {
      const l = lines[j];
      if (!l.trim()) {
        // A blank line inside the item when more of it follows, indented.
        if (j + 1 < lines.length && /^\s+\S/.test(lines[j + 1]) && (lines[j + 1].length - lines[j + 1].trimStart().length) >= inner) {
          body.push('');
          loose = true;
          continue;
        }
        break;
      }
      const lead = l.length - l.trimStart().length;
      const mi = ITEM.exec(l);
      if (mi && mi[1].length <= indent) break;
      if (lead < inner && startsBlock(lines, j) && !mi) break;
      body.push(lead >= inner ? l.slice(inner) : l.trimStart());
    }
    const li = el('li');
    const nested = blocks(body);
    // A tight item's only paragraph is shown without its <p>.
    if (!loose && nested.length && nested[0].tagName === 'P') li.append(...nested[0].childNodes, ...nested.slice(1));
    else li.append(...nested);
    node.append(li);
    if (j < lines.length && !lines[j].trim() && j + 1 < lines.length) {
      const next = ITEM.exec(lines[j + 1]);
      if (next && next[1].length === indent) { j += 1; loose = true; }
    }
  }
  return [node, j];
}

// The block nodes of a document (an array of lines).
function blocks(lines) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i];
    if (!l.trim()) { i += 1; continue; }
    let m = FENCE.exec(l);
    if (m) {
      const fence = m[1];
      const code = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(fence)) { code.push(lines[i]); i += 1; }
      i += 1;
      const c = el('code', code.join('\n'));
      if (m[2]) c.dataset.lang = m[2];
      out.push(el('pre', c));
      continue;
    }
    if ((m = HEADING.exec(l))) {
      out.push(el(`h${Math.min(m[1].length + 1, 6)}`, ...inline(m[2] || '')));
      i += 1;
      continue;
    }
    if (l.includes('|') && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1])) {
      const [t, j] = table(lines, i);
      out.push(t);
      i = j;
      continue;
    }
    if (RULE.test(l)) { out.push(el('hr')); i += 1; continue; }
    if (QUOTE.test(l)) {
      const inner = [];
      while (i < lines.length && (m = QUOTE.exec(lines[i]))) { inner.push(m[1]); i += 1; }
      out.push(el('blockquote', ...blocks(inner)));
      continue;
    }
    if (ITEM.test(l)) {
      const [node, j] = list(lines, i);
      out.push(node);
      i = j;
      continue;
    }
    if (/^( {4}|\t)/.test(l)) {
      const code = [];
      while (i < lines.length && (/^( {4}|\t)/.test(lines[i]) || (!lines[i].trim() && i + 1 < lines.length && /^( {4}|\t)/.test(lines[i + 1])))) {
        code.push(lines[i].replace(/^( {4}|\t)/, ''));
        i += 1;
      }
      out.push(el('pre', el('code', code.join('\n'))));
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() && (para.length === 0 || !startsBlock(lines, i))) {
      para.push(lines[i].replace(/^\s+/, ''));
      i += 1;
    }
    out.push(el('p', ...inline(para.join('\n').replace(/\s+$/, ''))));
  }
  return out;
}

// The rendered document in a fresh <div class="markdown">.
export function renderMarkdown(source) {
  const root = el('div', ...blocks(String(source ?? '').replace(/\r\n?/g, '\n').split('\n')));
  root.className = 'markdown';
  return root;
}
