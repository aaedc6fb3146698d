// Syntax highlighting for Lua policies: a small tokenizer whose tokens become text
// nodes inside <span class="tok-…">, never HTML, so a policy cannot inject markup.
import { h } from './dom.js';

const KEYWORDS = new Set(['and', 'break', 'do', 'else', 'elseif', 'end', 'false', 'for', 'function', 'goto', 'if',
  'in', 'local', 'nil', 'not', 'or', 'repeat', 'return', 'then', 'true', 'until', 'while']);

const RULES = [
  ['comment', /--\[(=*)\[[\s\S]*?\]\1\]|--[^\n]*/y],
  ['string', /\[(=*)\[[\s\S]*?\]\1\]|"(?:[^"\\\n]|\\[\s\S])*"?|'(?:[^'\\\n]|\\[\s\S])*'?/y],
  ['number', /0[xX][0-9a-fA-F.]+(?:[pP][+-]?\d+)?|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?/y],
  ['name', /[A-Za-z_][A-Za-z0-9_]*/y],
  ['space', /\s+/y],
  ['punct', /[\s\S]/y],
];

export function tokenizeLua(source) {
  const out = [];
  let i = 0;
  while (i < source.length) {
    for (const [kind, re] of RULES) {
      re.lastIndex = i;
      const m = re.exec(source);
      if (!m || m[0].length === 0) continue;
      let k = kind;
      if (kind === 'name' && KEYWORDS.has(m[0])) k = 'keyword';
      out.push([k, m[0]]);
      i += m[0].length;
      break;
    }
  }
  return out;
}

export function highlightLua(source) {
  return h('pre', { class: 'lua', tabindex: '0' }, h('code', {}, tokenizeLua(source).map(([kind, text]) => (
    kind === 'space' || kind === 'punct' || kind === 'name' ? text : h('span', { class: `tok-${kind}` }, text)))));
}
