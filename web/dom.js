// Building the page: every piece of data goes in as a text node or an attribute
// value, never as HTML, so a justification holding "<script>" shows as text.
// There is no innerHTML anywhere in the console.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function fmtTime(unix) {
  if (unix === null || unix === undefined) return '—';
  return new Date(unix * 1000).toLocaleString(undefined, {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short',
  });
}

export function fmtRelative(unix) {
  if (unix === null || unix === undefined) return 'never';
  const s = Math.round(unix - Date.now() / 1000);
  const abs = Math.abs(s);
  const [n, unit] = abs < 60 ? [abs, 'second'] : abs < 3600 ? [Math.round(abs / 60), 'minute']
    : abs < 86400 ? [Math.round(abs / 3600), 'hour'] : [Math.round(abs / 86400), 'day'];
  return new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }).format(s < 0 ? -n : n, unit);
}

// A <time> element: local time as text, UTC ISO in datetime and the tooltip.
export function timeEl(unix) {
  if (unix === null || unix === undefined) return h('span', { class: 'muted' }, 'never');
  const iso = new Date(unix * 1000).toISOString();
  return h('time', { datetime: iso, title: `${iso} (${fmtRelative(unix)})` }, fmtTime(unix));
}

export const stateBadge = (state) => h('span', { class: `badge state-${state}` }, state.replace(/_/g, ' '));

export function notice(kind, ...children) {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

export function emptyState(text) {
  return h('p', { class: 'empty' }, text);
}

// A labelled form field; returns {field, input}.
export function field(label, input, help) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 10)}`;
  input.id = id;
  const helpEl = help ? h('span', { class: 'help', id: `${id}-help` }, help) : null;
  if (helpEl) input.setAttribute('aria-describedby', helpEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, helpEl);
}

// The id of the tab a keyboard user just moved to. Selecting a tab re-renders the page,
// which replaces the tab list: the new list gives that tab the focus back, so the user
// stays in the tab list instead of being sent to the page's heading.
let focusAfterRender = null;

// Tabs with arrow-key navigation (WAI-ARIA tabs pattern); `onSelect(key)`.
export function tabs(items, selected, onSelect) {
  const list = h('div', { role: 'tablist', class: 'tabs' });
  const buttons = items.map((it) => h('button', {
    role: 'tab', type: 'button', id: `tab-${it.key}`,
    'aria-selected': it.key === selected ? 'true' : 'false',
    tabindex: it.key === selected ? '0' : '-1',
    disabled: it.disabled || false,
    title: it.title || null,
    onclick: () => onSelect(it.key),
  }, it.label, it.count === null || it.count === undefined ? null : h('span', { class: 'count' }, String(it.count))));
  list.addEventListener('keydown', (e) => {
    const enabled = buttons.filter((b) => !b.disabled);
    const i = enabled.indexOf(document.activeElement);
    if (i < 0) return;
    let next = null;
    if (e.key === 'ArrowRight') next = enabled[(i + 1) % enabled.length];
    if (e.key === 'ArrowLeft') next = enabled[(i - 1 + enabled.length) % enabled.length];
    if (e.key === 'Home') next = enabled[0];
    if (e.key === 'End') next = enabled[enabled.length - 1];
    if (next) {
      e.preventDefault();
      next.focus();
      focusAfterRender = next.id;
      next.click();
    }
  });
  append(list, buttons);
  // Used by the next tab list drawn, whatever it is: a choice whose page never came
  // (an error) must not pull the focus later.
  const wanted = focusAfterRender;
  focusAfterRender = null;
  const refocus = buttons.find((b) => b.id === wanted && b.getAttribute('aria-selected') === 'true');
  if (refocus) queueMicrotask(() => { if (refocus.isConnected) refocus.focus(); });
  return list;
}

// A line diff (longest common subsequence) of two texts, as rows {op:' '|'-'|'+', text}.
export function lineDiff(before, after) {
  const a = (before || '').split('\n');
  const b = (after || '').split('\n');
  if (a.length * b.length > 4e6) {
    return [...a.map((t) => ({ op: '-', text: t })), ...b.map((t) => ({ op: '+', text: t }))];
  }
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { out.push({ op: ' ', text: a[i] }); i++; j++; }
    else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push({ op: '-', text: a[i++] });
    else out.push({ op: '+', text: b[j++] });
  }
  while (i < n) out.push({ op: '-', text: a[i++] });
  while (j < m) out.push({ op: '+', text: b[j++] });
  return out;
}

export function diffView(before, after) {
  const rows = lineDiff(before, after);
  return h('pre', { class: 'diff', tabindex: '0' }, rows.map((r) => h('span', {
    class: r.op === '+' ? 'add' : r.op === '-' ? 'del' : 'same',
  }, `${r.op} ${r.text}\n`)));
}
