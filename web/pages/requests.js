// Requests: My requests / Received (approvable now) / All (requests.read_all), with
// filters by state, action, device and requester, and the counts on the tabs.
import { api, currentSession } from '../api.js';
import { emptyState, field, h, stateBadge, tabs, timeEl, fmtRelative } from '../dom.js';
import { ACTIONS, STATES, go } from '../ui.js';

const PAGE = 50;

const VIEWS = [
  ['mine', 'My requests'],
  ['received', 'Received requests'],
  ['all', 'All requests'],
];

function hrefWith(params, changes) {
  const p = new URLSearchParams(params);
  for (const [k, v] of Object.entries(changes)) {
    if (v) p.set(k, v); else p.delete(k);
  }
  const q = p.toString();
  return `#/requests${q ? `?${q}` : ''}`;
}

export async function render(main, { params }) {
  const view = params.get('view') || 'mine';
  const filters = {
    state: params.get('state') || '',
    action: params.get('action') || '',
    device: params.get('device') || '',
    requester: params.get('requester') || '',
  };
  main.append(h('div', { class: 'page-head' },
    h('h1', {}, 'Requests'),
    h('a', { class: 'button primary', href: '#/requests/new' }, 'New request')));

  // A page of PAGE requests, newest first; `cursor` (the server's `next`) resumes.
  const cursor = params.get('cursor') || '';
  const q = new URLSearchParams({ view, limit: String(PAGE) });
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  if (cursor) q.set('cursor', cursor);
  const data = await api('GET', `/api/v1/requests?${q}`);

  main.append(tabs(VIEWS.map(([key, label]) => ({
    key, label, count: data.counts[key],
    disabled: key === 'all' && data.counts.all === null,
    title: key === 'all' && data.counts.all === null ? 'needs the role requests.read_all' : null,
  })), view, (key) => go(hrefWith(params, { view: key, cursor: '' }))));

  const state = h('select', { name: 'state' }, h('option', { value: '' }, 'any state'),
    STATES.map((s) => h('option', { value: s, selected: s === filters.state }, s.replace(/_/g, ' '))));
  const action = h('select', { name: 'action' }, h('option', { value: '' }, 'any action'),
    Object.keys(ACTIONS).map((a) => h('option', { value: a, selected: a === filters.action }, a)));
  const device = h('input', { name: 'device', value: filters.device, placeholder: 'device id' });
  const requester = h('input', { name: 'requester', value: filters.requester, placeholder: 'principal' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter requests' },
    field('State', state), field('Action', action), field('Device', device), field('Requester', requester),
    h('div', { class: 'field buttons' },
      h('button', { type: 'submit' }, 'Filter'),
      h('a', { href: hrefWith({ view }, {}), class: 'button' }, 'Clear')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    go(hrefWith(params, {
      state: state.value, action: action.value, device: device.value.trim(), requester: requester.value.trim(), cursor: '',
    }));
  });
  main.append(form);

  const panel = h('section', { role: 'tabpanel', 'aria-labelledby': `tab-${view}`, id: 'request-list' });
  main.append(panel);
  if (!data.requests.length) {
    const none = {
      mine: 'You have no requests here. Use “New request” to ask for an action.',
      received: 'Nothing waits for your approval.',
      all: 'No requests match.',
    };
    panel.append(emptyState(cursor ? 'No more requests.' : (none[view] || 'No requests.')));
    if (cursor) panel.append(pager(params, data));
    return;
  }
  const me = currentSession().principal;
  const now = Date.now() / 1000;
  panel.append(h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
    h('caption', { class: 'sr-only' }, `${data.requests.length} request(s) on this page`),
    h('thead', {}, h('tr', {}, ['Request', 'Action', 'State', 'Requester', 'Targets', 'Approvals', 'Created', 'Expires']
      .map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, data.requests.map((r) => {
      const pending = r.state === 'needs_approval' || r.state === 'approved';
      const soon = pending && r.expires - now < 86400;
      return h('tr', { 'data-id': r.id },
        h('td', {}, h('a', { href: `#/request/${encodeURIComponent(r.id)}` }, r.id),
          h('div', { class: 'justification' }, r.justification)),
        h('td', {}, h('code', {}, r.action)),
        h('td', {}, stateBadge(r.state)),
        h('td', {}, r.requester === me ? h('span', {}, r.requester, h('span', { class: 'muted' }, ' (you)')) : r.requester),
        h('td', { class: 'num' }, r.action === 'maa.bundle.update' ? 'bundle' : String(r.target_count)),
        h('td', {}, r.requirements.length ? r.requirements.map((x) => h('div', {}, `${x.have}/${x.approvals} ${x.group}`)) : h('span', { class: 'muted' }, 'none needed')),
        h('td', {}, timeEl(r.created)),
        h('td', { class: soon ? 'expiring' : '' }, timeEl(r.expires), soon ? h('div', { class: 'warn-text' }, `expires ${fmtRelative(r.expires)}`) : null));
    })))));
  panel.append(pager(params, data));
}

// Links to the first page and the next one (the server's cursor).
function pager(params, data) {
  const cursor = params.get('cursor');
  return h('nav', { class: 'pager', 'aria-label': 'Request pages' },
    cursor ? h('a', { class: 'button', rel: 'first', href: hrefWith(params, { cursor: '' }) }, '← Newest') : null,
    data.next
      ? h('a', { class: 'button', rel: 'next', href: hrefWith(params, { cursor: data.next }) }, 'Older requests →')
      : h('span', { class: 'muted' }, 'last page'));
}
