// Devices: enrolled devices with their facts, last contact and the requests that
// targeted them; create a single-use enrollment code.
import { api } from '../api.js';
import { clear, emptyState, field, fmtRelative, h, notice, stateBadge, timeEl } from '../dom.js';
import { errorNotice } from '../ui.js';

function enrollCard() {
  const hours = h('input', { name: 'valid_hours', value: '24', inputmode: 'numeric', size: '4' });
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card', id: 'enroll' },
    h('h2', {}, 'Enroll a device'),
    h('p', {}, 'A single-use code for ', h('code', {}, 'keyturn-agent enroll --code CODE'), '. It is shown once and stored only as its hash.'),
    field('Valid for (hours, 1 minute to 7 days)', hours),
    h('button', { type: 'submit', class: 'primary' }, 'Create enrollment code'), out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(out);
    try {
      const hrs = Number(hours.value.trim());
      if (!Number.isFinite(hrs) || hrs <= 0) throw new Error('valid for: a number of hours');
      const code = await api('POST', '/api/v1/devices/enrollment-codes', { expires_in_s: Math.round(hrs * 3600) });
      const codeEl = h('code', { class: 'secret', id: 'enrollment-code' }, code.code);
      out.append(notice('ok', 'Code: ', codeEl, ' valid until ', timeEl(code.expires), ' ',
        h('button', { type: 'button', class: 'link', onclick: () => navigator.clipboard && navigator.clipboard.writeText(code.code) }, 'Copy')));
    } catch (err) { out.append(errorNotice(err)); }
  });
  return form;
}

async function list(main) {
  main.append(h('h1', {}, 'Devices'));
  const data = await api('GET', '/api/v1/devices?removed=true');
  const grid = h('div', { class: 'detail-grid wide-left' });
  const left = h('div', {});
  grid.append(left, h('div', {}, enrollCard()));
  main.append(grid);
  if (!data.devices.length) {
    left.append(emptyState('No devices are enrolled yet. Create an enrollment code and run keyturn-agent enroll on the device.'));
    return;
  }
  left.append(h('div', { class: 'table-wrap' }, h('table', { class: 'list', id: 'devices' },
    h('thead', {}, h('tr', {}, ['Device', 'State', 'Ownership', 'Platform', 'Groups', 'Last contact', 'Bundle', 'Agent', 'Enrolled']
      .map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, data.devices.map((d) => h('tr', { 'data-device': d.id },
      h('td', {}, h('a', { href: `#/devices/${encodeURIComponent(d.id)}` }, d.id)),
      h('td', {}, stateBadge(d.state)),
      h('td', {}, d.ownership),
      h('td', {}, [d.platform, d.os_version].filter(Boolean).join(' ') || h('span', { class: 'muted' }, 'not reported')),
      h('td', {}, d.groups.join(', ')),
      h('td', {}, d.last_seen ? [timeEl(d.last_seen), h('div', { class: 'muted' }, fmtRelative(d.last_seen))] : h('span', { class: 'muted' }, 'never')),
      h('td', { class: 'bundle-version' }, bundleOf(d)),
      h('td', { class: 'agent-version' }, agentOf(d), opensslOf(d)),
      h('td', {}, timeEl(d.enrolled_at))))))));
}

// The trust bundle version and program version the agent last reported with its facts
// (null until it does: an agent not yet started, or an older one).
function bundleOf(d) {
  return d.bundle_version ? `v${d.bundle_version}` : h('span', { class: 'muted' }, 'not reported');
}

// Under the agent version in the list: the OpenSSL it runs with (the library advisories
// name most); the device page lists them all.
function opensslOf(d) {
  const ssl = Array.isArray(d.agent_libraries) ? d.agent_libraries.find((l) => l.name === 'OpenSSL') : null;
  return ssl ? h('div', { class: 'muted openssl' }, `OpenSSL ${ssl.version}`) : null;
}

function agentOf(d) {
  return d.agent_version ? d.agent_version : h('span', { class: 'muted' }, 'not reported');
}

// The libraries the agent runs with, as it reported them: built in (the packaged agent)
// or the shared library's path. An advisory for a built-in copy needs a new agent.
function librariesOf(d) {
  if (!Array.isArray(d.agent_libraries)) return h('span', { class: 'muted' }, 'not reported');
  return h('ul', { class: 'libraries' }, d.agent_libraries.map((l) => h('li', { 'data-library': l.name },
    `${l.name} ${l.version} `,
    l.from === 'keyturn-agent' ? h('span', { class: 'muted' }, '(built into the agent)') : h('code', {}, l.from))));
}

async function one(main, id) {
  const [d, history] = await Promise.all([
    api('GET', `/api/v1/devices/${encodeURIComponent(id)}`),
    api('GET', `/api/v1/requests?view=all&device=${encodeURIComponent(id)}`).catch(() => null),
  ]);
  main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Device ', h('code', {}, d.id)), stateBadge(d.state)));
  main.append(h('section', { class: 'card' }, h('h2', {}, 'Facts'), h('dl', { class: 'facts' },
    h('dt', {}, 'Ownership'), h('dd', {}, d.ownership),
    h('dt', {}, 'Platform'), h('dd', {}, d.platform || '—'),
    h('dt', {}, 'OS version'), h('dd', {}, d.os_version || '—'),
    h('dt', {}, 'Groups'), h('dd', {}, d.groups.join(', ') || '—'),
    h('dt', {}, 'Tags'), h('dd', {}, Object.entries(d.tags || {}).map(([k, v]) => h('div', {}, h('code', {}, k), ` = ${v}`))),
    h('dt', {}, 'Last contact'), h('dd', {}, timeEl(d.last_seen)),
    h('dt', {}, 'Bundle'), h('dd', {}, bundleOf(d)),
    h('dt', {}, 'Agent version'), h('dd', {}, agentOf(d)),
    h('dt', {}, 'Agent libraries'), h('dd', {}, librariesOf(d)),
    h('dt', {}, 'Enrolled'), h('dd', {}, timeEl(d.enrolled_at)),
    d.removed_at ? [h('dt', {}, 'Removed'), h('dd', {}, timeEl(d.removed_at))] : null),
  h('details', {}, h('summary', {}, 'Reported facts (JSON)'), h('pre', { class: 'params' }, JSON.stringify(d.facts, null, 2)))));
  const section = h('section', { class: 'card' }, h('h2', {}, 'Actions on this device'));
  main.append(section);
  if (!history) {
    section.append(notice('info', 'The history of actions needs the role requests.read_all.'));
  } else if (!history.requests.length) {
    section.append(emptyState('No request has targeted this device.'));
  } else {
    section.append(h('ul', { class: 'history' }, history.requests.map((r) => h('li', {},
      timeEl(r.created), ' ', h('a', { href: `#/request/${encodeURIComponent(r.id)}` }, h('code', {}, r.action)), ' by ', r.requester, ' ', stateBadge(r.state)))));
  }
}

export async function render(main, { arg }) {
  if (arg) return one(main, arg);
  return list(main);
}
