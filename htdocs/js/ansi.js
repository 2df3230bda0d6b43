// ANSI escape sequences in a script's output, parsed into lines of styled
// text. Pure functions over strings (no DOM: tests/ui/run.mjs runs them in
// node too); log-viewer.js turns the result into elements, text always
// through text nodes. Only SGR ("ESC [ ... m": colours, bold, italic,
// underline, inverse, strike) changes how text looks; every other escape
// or control sequence is dropped from the text, and a carriage return not
// followed by a line feed starts the line over, as a terminal shows a
// progress bar. The raw bytes stay downloadable.

// A style: null members are the terminal's defaults. fg/bg: a palette
// index 0..255, or [r, g, b].
export function plainStyle() {
  return { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, inverse: false, strike: false };
}

export function isPlain(st) {
  return st.fg === null && st.bg === null && !st.bold && !st.dim && !st.italic && !st.underline && !st.inverse && !st.strike;
}

function sameStyle(a, b) {
  return a.bold === b.bold && a.dim === b.dim && a.italic === b.italic && a.underline === b.underline
    && a.inverse === b.inverse && a.strike === b.strike && sameColor(a.fg, b.fg) && sameColor(a.bg, b.bg);
}

function sameColor(a, b) {
  if (Array.isArray(a) && Array.isArray(b)) return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
  return a === b;
}

const byte = (v) => (Number.isInteger(v) && v >= 0 && v <= 255 ? v : null);

// 38;5;N or 38;2;R;G;B (also with colons: 38:5:N, 38:2::R:G:B). Returns
// [colour or undefined, parameters used after the 38/48].
function extended(params, i) {
  const kind = params[i + 1];
  if (kind === 5) return [byte(params[i + 2]) ?? undefined, 2];
  if (kind === 2) {
    const rgb = [byte(params[i + 2]), byte(params[i + 3]), byte(params[i + 4])];
    return [rgb.every((v) => v !== null) ? rgb : undefined, 4];
  }
  return [undefined, params.length - i - 1]; // unknown: ignore the rest
}

// Applies one SGR parameter list to a copy of st.
export function applySgr(st, paramText) {
  const out = { ...st };
  let params;
  const sub = paramText.includes(':');
  if (sub) {
    // "38:2::255:0:0" is one colour with sub-parameters (the empty one is a
    // colour-space id): flatten each group on its own.
    params = [];
    for (const group of paramText.split(';')) {
      const parts = group.split(':');
      if (parts.length > 1 && (parts[0] === '38' || parts[0] === '48') && parts[1] === '2' && parts.length >= 6) {
        parts.splice(2, 1);
      }
      for (const p of parts) params.push(p === '' ? 0 : Number(p));
    }
  } else {
    params = paramText === '' ? [0] : paramText.split(';').map((p) => (p === '' ? 0 : Number(p)));
  }
  for (let i = 0; i < params.length; i += 1) {
    const p = params[i];
    if (!Number.isInteger(p)) continue;
    if (p === 0) Object.assign(out, plainStyle());
    else if (p === 1) out.bold = true;
    else if (p === 2) out.dim = true;
    else if (p === 3) out.italic = true;
    else if (p === 4 || p === 21) out.underline = true;
    else if (p === 7) out.inverse = true;
    else if (p === 9) out.strike = true;
    else if (p === 22) { out.bold = false; out.dim = false; }
    else if (p === 23) out.italic = false;
    else if (p === 24) out.underline = false;
    else if (p === 27) out.inverse = false;
    else if (p === 29) out.strike = false;
    else if (p >= 30 && p <= 37) out.fg = p - 30;
    else if (p === 38 || p === 48) {
      const [c, used] = extended(params, i);
      if (c !== undefined) { if (p === 38) out.fg = c; else out.bg = c; }
      i += used;
    } else if (p === 39) out.fg = null;
    else if (p >= 40 && p <= 47) out.bg = p - 40;
    else if (p === 49) out.bg = null;
    else if (p >= 90 && p <= 97) out.fg = p - 90 + 8;
    else if (p >= 100 && p <= 107) out.bg = p - 100 + 8;
    // anything else (blink, fonts, ...) is ignored
  }
  return out;
}

// parse(text, style) -> {lines, style, lastLineStyle}
// lines: [{segments: [{text, style}], plain}] (plain: the line's text
// without escapes, for search); style: the style in force at the end;
// lastLineStyle: the one in force where the last line starts (to parse
// that line again when more of it arrives). A text ending in "\n" ends
// with an empty last line, as a terminal's cursor sits on a new line.
export function parse(text, style = plainStyle()) {
  const lines = [];
  let st = style;
  let lastLineStyle = style;
  let segs = [];
  let buf = '';
  const flush = () => {
    if (!buf) return;
    const last = segs[segs.length - 1];
    if (last && sameStyle(last.style, st)) last.text += buf;
    else segs.push({ text: buf, style: st });
    buf = '';
  };
  const endLine = () => {
    flush();
    lines.push({ segments: segs, plain: segs.map((s) => s.text).join('') });
    segs = [];
    lastLineStyle = st;
  };
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) { endLine(); i += 1; continue; }
    if (c === 0x0d) {
      if (text.charCodeAt(i + 1) === 0x0a) { i += 1; continue; } // CRLF: the LF ends the line
      if (i + 1 < n) { buf = ''; segs = []; } // a lone CR: the line starts over
      i += 1;
      continue;
    }
    if (c === 0x1b) {
      const k = text[i + 1];
      if (k === '[') {
        // CSI: parameter and intermediate bytes, then one final byte.
        let j = i + 2;
        while (j < n && /[0-?]/.test(text[j])) j += 1;
        const params = text.slice(i + 2, j);
        while (j < n && /[ -/]/.test(text[j])) j += 1;
        if (j >= n) { i = n; break; } // cut off at the end: wait for the rest
        const final = text[j];
        if (final === 'm' && /^[0-9;:]*$/.test(params)) { flush(); st = applySgr(st, params); }
        i = j + 1;
        continue;
      }
      if (k === ']' || k === 'P' || k === '_' || k === '^' || k === 'X') {
        // OSC, DCS, APC, PM, SOS: up to BEL or ST (ESC \).
        let j = i + 2;
        while (j < n && text.charCodeAt(j) !== 0x07 && !(text.charCodeAt(j) === 0x1b && text[j + 1] === '\\')) j += 1;
        i = j >= n ? n : j + (text.charCodeAt(j) === 0x07 ? 1 : 2);
        continue;
      }
      // ESC, intermediate bytes (ESC ( B: a character set), a final byte.
      let j = i + 1;
      while (j < n && /[ -/]/.test(text[j])) j += 1;
      i = Math.min(n, j + 1);
      continue;
    }
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) { i += 1; continue; } // other controls
    // Plain text up to the next special character, in one step.
    let j = i + 1;
    while (j < n) {
      const d = text.charCodeAt(j);
      if (d < 0x20 || d === 0x7f) { if (d !== 0x09) break; }
      j += 1;
    }
    buf += text.slice(i, j);
    i = j;
  }
  const before = lastLineStyle;
  endLine();
  return { lines, style: st, lastLineStyle: before };
}

// The 256-colour palette: 0..15 the named colours (log-viewer's CSS
// classes draw those, fitted to its dark background), 16..231 a 6x6x6
// cube, 232..255 greys.
export function paletteRgb(n) {
  if (n < 16) return null;
  if (n < 232) {
    const v = n - 16;
    const lv = (x) => (x === 0 ? 0 : 55 + x * 40);
    return [lv(Math.floor(v / 36)), lv(Math.floor(v / 6) % 6), lv(v % 6)];
  }
  const g = 8 + (n - 232) * 10;
  return [g, g, g];
}

// "[... 12345 bytes omitted ...]": where the server cut a long stream.
export const OMITTED_RE = /^\[\.\.\. (\d+) bytes omitted \.\.\.\]$/;
