// Audit log (role audit.read): the hash-chained log, paginated, filtered by the
// coordinator over the whole log, with the server's whole-chain verification result and an export for `keyturn audit verify --file`.
import { api, apiRaw } from '../api.js';
import { emptyState, field, h, notice, timeEl } from '../dom.js';
import { errorNotice, go } from '../ui.js';

const PAGE = 50;

// Filters the coordinator applies over the whole log (not the page shown).
const FILTERS = ['event', 'actor', 'subject', 'since', 'until'];

// datetime-local value (the viewer's time zone) <-> Unix seconds.
function toSeconds(local) { const t = Date.parse(local); return Number.isNaN(t) ? '' : String(Math.floor(t / 1000)); }
function toLocal(seconds) {
  if (!seconds) return '';
  const d = new Date(Number(seconds) * 1000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export async function render(main, { params }) {
  main.append(h('h1', {}, 'Audit log'));
  const from = Math.max(1, Number(params.get('from')) || 1);
  const filter = {};
  for (const k of FILTERS) filter[k] = params.get(k) || '';
  const q = new URLSearchParams({ from: String(from), limit: String(PAGE) });
  for (const [k, v] of Object.entries(filter)) if (v) q.set(k, v);
  const data = await api('GET', `/api/v1/audit?${q}`);
  main.append(data.chain === 'ok'
    ? notice('ok', h('strong', {}, 'Chain intact: '), `the coordinator recomputed the hash and link of all ${data.chain_checked} entries just now, not only those shown.`)
    : notice('error', h('strong', {}, 'Chain broken '), `at entry ${data.chain.broken_at}: ${data.chain.reason} (${data.chain.detail})`));

  const event = h('input', { name: 'event', value: filter.event, placeholder: 'request.approved or request.*' });
  const actor = h('input', { name: 'actor', value: filter.actor });
  const subject = h('input', { name: 'subject', value: filter.subject, placeholder: 'request id, device id, ...' });
  const since = h('input', { name: 'since', type: 'datetime-local', value: toLocal(filter.since) });
  const until = h('input', { name: 'until', type: 'datetime-local', value: toLocal(filter.until) });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit log' },
    field('Event', event), field('Actor', actor), field('Subject', subject), field('From', since), field('Before', until),
    h('div', { class: 'field buttons' }, h('button', { type: 'submit' }, 'Filter'), h('a', { class: 'button', href: '#/audit' }, 'Clear')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    if (event.value.trim()) next.set('event', event.value.trim());
    if (actor.value.trim()) next.set('actor', actor.value.trim());
    if (subject.value.trim()) next.set('subject', subject.value.trim());
    if (since.value && toSeconds(since.value)) next.set('since', toSeconds(since.value));
    if (until.value && toSeconds(until.value)) next.set('until', toSeconds(until.value));
    go(`#/audit${next.toString() ? `?${next}` : ''}`);
  });
  const exportStatus = h('span', { 'aria-live': 'polite' });
  const exportBtn = h('button', {
    type: 'button', name: 'export',
    onclick: async () => {
      try {
        const res = await apiRaw('GET', '/api/v1/audit/export');
        const blob = await res.blob();
        const a = h('a', { href: URL.createObjectURL(blob), download: 'audit.jsonl' });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 10000);
        exportStatus.textContent = ' saved audit.jsonl — check it offline with keyturn audit verify --file audit.jsonl';
      } catch (e) { exportStatus.replaceChildren(errorNotice(e)); }
    },
  }, 'Export (JSON lines)');
  main.append(form, h('p', {}, exportBtn, exportStatus));

  const rows = data.entries;
  const filtered = FILTERS.some((k) => filter[k]);
  if (!rows.length) main.append(emptyState(filtered ? 'No entry matches the filter.' : 'The audit log is empty.'));
  else {
    main.append(h('div', { class: 'table-wrap' }, h('table', { class: 'list', id: 'audit' },
      h('caption', {}, `Entries ${rows[0].seq} to ${rows[rows.length - 1].seq}${filtered ? ' matching the filter' : ''}`),
      h('thead', {}, h('tr', {}, ['#', 'Time', 'Actor', 'Event', 'Subject', 'Detail'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((x) => h('tr', {},
        h('td', { class: 'num' }, String(x.seq)), h('td', {}, timeEl(x.at)), h('td', {}, x.actor),
        h('td', {}, h('code', {}, x.event)), h('td', {}, x.subject),
        h('td', {}, h('code', { class: 'wrap detail' }, x.detail_json))))))));
  }
  const keep = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v) keep.set(k, v);
  const link = (f, label, rel) => {
    const lq = new URLSearchParams(keep);
    lq.set('from', String(f));
    return h('a', { class: 'button', rel, href: `#/audit?${lq}` }, label);
  };
  main.append(h('nav', { class: 'pager', 'aria-label': 'Audit pages' },
    from > 1 ? link(1, '← First entries', 'first') : null,
    data.next ? link(data.next, 'Next entries →', 'next') : h('span', { class: 'muted' }, 'last page')));
}
