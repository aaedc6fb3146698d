// Audit log (role audit.read): the hash-chained log, paginated, filterable, with
// the server's chain verification result and an export for `keyturn audit verify --file`.
import { api, apiRaw } from '../api.js';
import { emptyState, field, h, notice, timeEl } from '../dom.js';
import { errorNotice, go } from '../ui.js';

const PAGE = 50;

export async function render(main, { params }) {
  main.append(h('h1', {}, 'Audit log'));
  const from = Math.max(1, Number(params.get('from')) || 1);
  const filter = { event: params.get('event') || '', actor: params.get('actor') || '', subject: params.get('subject') || '' };
  const data = await api('GET', `/api/v1/audit?from=${from}&limit=${PAGE}`);
  main.append(data.chain === 'ok'
    ? notice('ok', h('strong', {}, 'Chain intact: '), 'the coordinator recomputed every entry\'s hash and link just now.')
    : notice('error', h('strong', {}, 'Chain broken '), `at entry ${data.chain.broken_at}: ${data.chain.reason} (${data.chain.detail})`));

  const event = h('input', { name: 'event', value: filter.event, placeholder: 'e.g. request.approved' });
  const actor = h('input', { name: 'actor', value: filter.actor });
  const subject = h('input', { name: 'subject', value: filter.subject });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter this page of the audit log' },
    field('Event', event), field('Actor', actor), field('Subject', subject),
    h('div', { class: 'field buttons' }, h('button', { type: 'submit' }, 'Filter'), h('a', { class: 'button', href: '#/audit' }, 'Clear')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams({ from: String(from) });
    if (event.value.trim()) q.set('event', event.value.trim());
    if (actor.value.trim()) q.set('actor', actor.value.trim());
    if (subject.value.trim()) q.set('subject', subject.value.trim());
    go(`#/audit?${q}`);
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

  const rows = data.entries.filter((x) => (!filter.event || x.event.includes(filter.event))
    && (!filter.actor || x.actor === filter.actor) && (!filter.subject || x.subject.includes(filter.subject)));
  if (!rows.length) main.append(emptyState(data.entries.length ? 'No entry on this page matches the filter.' : 'The audit log is empty.'));
  else {
    main.append(h('div', { class: 'table-wrap' }, h('table', { class: 'list', id: 'audit' },
      h('caption', {}, `Entries ${from} to ${from + data.entries.length - 1}`),
      h('thead', {}, h('tr', {}, ['#', 'Time', 'Actor', 'Event', 'Subject', 'Detail'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((x) => h('tr', {},
        h('td', { class: 'num' }, String(x.seq)), h('td', {}, timeEl(x.at)), h('td', {}, x.actor),
        h('td', {}, h('code', {}, x.event)), h('td', {}, x.subject),
        h('td', {}, h('code', { class: 'wrap detail' }, x.detail_json))))))));
  }
  const keep = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v) keep.set(k, v);
  const link = (f, label, rel) => {
    const q = new URLSearchParams(keep);
    q.set('from', String(f));
    return h('a', { class: 'button', rel, href: `#/audit?${q}` }, label);
  };
  main.append(h('nav', { class: 'pager', 'aria-label': 'Audit pages' },
    from > 1 ? link(Math.max(1, from - PAGE), '← Previous entries', 'prev') : null,
    data.next ? link(data.next, 'Next entries →', 'next') : h('span', { class: 'muted' }, 'last page')));
}
