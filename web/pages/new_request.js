// A new device-action request: action, devices, justification, the action's
// parameters, and a live view of the approvals the policies will require
// (POST /api/v1/requests/preview). The request is built and signed here as
// requester, exactly as `keyturn request submit` does, then submitted.
import { api, currentSession } from '../api.js';
import {
  b64u, b64uJson, headers, hex, merkleRoot, nowSeconds, randomRequestId, sha256, signDetached, utf8,
} from '../crypto.js';
import { append, clear, emptyState, field, h, notice } from '../dom.js';
import { currentBundle } from '../session.js';
import { ACTIONS, errorNotice, go } from '../ui.js';

// Each action's parameter fields (PROTOCOL.md §7) and how they become `params`.
const FORMS = {
  'device.wipe': { fields: [], params: () => ({ mode: 'full' }), note: 'Parameters: {"mode": "full"}.' },
  'device.retire': { fields: [], params: () => ({}), note: 'Removes managed data and the agent\'s enrollment.' },
  'device.lock': {
    fields: [['message', 'Message shown on the lock screen (optional)', 'input']],
    params: (v) => (v.message ? { message: v.message } : {}),
  },
  'device.restart': {
    fields: [['delay_s', 'Delay in seconds', 'number', '0']],
    params: (v) => ({ delay_s: toInt(v.delay_s, 'delay_s') }),
  },
  'script.run': {
    fields: [['interpreter', 'Interpreter', 'select', 'sh', ['sh', 'bash', 'python3']],
      ['body', 'Script', 'textarea'], ['timeout_s', 'Timeout in seconds', 'number', '300']],
    params: async (v) => {
      if (!v.body) throw new Error('script: the script body is empty');
      return {
        interpreter: v.interpreter, body: v.body, sha256: hex(await sha256(utf8(v.body))), timeout_s: toInt(v.timeout_s, 'timeout_s'),
      };
    },
    note: 'The SHA-256 of the script is computed here and signed with it; the agent refuses a body that differs.',
  },
  'app.install': {
    fields: [['name', 'Package name', 'input'], ['version', 'Version (optional)', 'input']],
    params: (v) => {
      if (!v.name) throw new Error('name: a package name is required');
      return v.version ? { name: v.name, version: v.version, source: 'apt' } : { name: v.name, source: 'apt' };
    },
  },
  'app.uninstall': {
    fields: [['name', 'Package name', 'input']],
    params: (v) => {
      if (!v.name) throw new Error('name: a package name is required');
      return { name: v.name };
    },
  },
};

function toInt(s, name) {
  if (!/^\d+$/.test(String(s))) throw new Error(`${name}: a whole number of seconds`);
  return Number(s);
}

export async function render(main) {
  const me = currentSession();
  const [bundle, devices] = await Promise.all([currentBundle(), api('GET', '/api/v1/devices')]);
  main.append(h('h1', {}, 'New request'));
  const status = h('div', { 'aria-live': 'polite' });

  const action = h('select', { name: 'action', required: true },
    Object.keys(FORMS).map((a) => h('option', { value: a }, `${ACTIONS[a]} (${a})`)));
  const paramBox = h('fieldset', { class: 'params' });
  let paramInputs = {};
  const drawParams = () => {
    clear(paramBox);
    paramInputs = {};
    const spec = FORMS[action.value];
    paramBox.append(h('legend', {}, 'Parameters'));
    if (spec.note) paramBox.append(h('p', { class: 'muted' }, spec.note));
    for (const [name, label, kind, def, options] of spec.fields) {
      let input;
      if (kind === 'select') input = h('select', { name }, options.map((o) => h('option', { value: o, selected: o === def }, o)));
      else if (kind === 'textarea') input = h('textarea', { name, rows: '6', class: 'mono' });
      else input = h('input', { name, type: kind === 'number' ? 'text' : 'text', inputmode: kind === 'number' ? 'numeric' : null, value: def || '' });
      input.addEventListener('input', schedulePreview);
      paramInputs[name] = input;
      paramBox.append(field(label, input));
    }
    if (!spec.fields.length && !spec.note) paramBox.append(h('p', { class: 'muted' }, 'No parameters.'));
  };

  // Device picker: a filterable list of checkboxes, plus "by group".
  const active = devices.devices.filter((d) => d.state === 'active');
  const search = h('input', { type: 'search', placeholder: 'filter by id, platform or group', 'aria-label': 'Filter devices' });
  const groups = [...new Set(active.flatMap((d) => d.groups))].sort();
  const groupPick = h('select', { 'aria-label': 'Select a device group' }, h('option', { value: '' }, 'select a group…'),
    groups.map((g) => h('option', { value: g }, g)));
  const boxes = new Map();
  const list = h('ul', { class: 'device-picker', id: 'device-picker' });
  for (const d of active) {
    const cb = h('input', { type: 'checkbox', name: 'device', value: d.id, id: `dev-${d.id}` });
    cb.addEventListener('change', () => { updateCount(); schedulePreview(); });
    boxes.set(d.id, cb);
    list.append(h('li', { 'data-search': `${d.id} ${d.platform} ${d.ownership} ${d.groups.join(' ')}`.toLowerCase() },
      cb, h('label', { for: cb.id }, h('strong', {}, d.id), h('span', { class: 'muted' }, ` ${d.ownership} · ${d.platform || 'unknown platform'}${d.groups.length ? ` · ${d.groups.join(', ')}` : ''}`))));
  }
  const count = h('span', { class: 'muted', 'aria-live': 'polite' });
  const selected = () => [...boxes.entries()].filter(([, cb]) => cb.checked).map(([id]) => id);
  const updateCount = () => { count.textContent = `${selected().length} selected`; };
  search.addEventListener('input', () => {
    const q = search.value.toLowerCase();
    for (const li of list.children) li.hidden = q !== '' && !li.dataset.search.includes(q);
  });
  groupPick.addEventListener('change', () => {
    for (const d of active) if (d.groups.includes(groupPick.value)) boxes.get(d.id).checked = true;
    groupPick.value = '';
    updateCount();
    schedulePreview();
  });

  const justification = h('textarea', { name: 'justification', rows: '3', maxlength: '1024', required: true });
  const days = h('input', { name: 'expires_days', value: '30', inputmode: 'numeric', size: '4' });
  const preview = h('section', { class: 'card preview', 'aria-live': 'polite', 'aria-labelledby': 'preview-h' },
    h('h2', { id: 'preview-h' }, 'Approvals required'), emptyState('Choose devices to see what the policies require.'));

  let timer = null;
  let generation = 0;
  function schedulePreview() {
    clearTimeout(timer);
    timer = setTimeout(runPreview, 250);
  }
  async function runPreview() {
    const gen = ++generation;
    const targets = selected();
    const body = preview;
    const fill = (...nodes) => {
      if (gen !== generation) return;
      clear(body);
      append(body, [h('h2', { id: 'preview-h' }, 'Approvals required'), nodes]);
    };
    if (!targets.length) { fill(emptyState('Choose devices to see what the policies require.')); return; }
    let params;
    try { params = await FORMS[action.value].params(values()); } catch (e) { fill(notice('info', e.message)); return; }
    try {
      const p = await api('POST', '/api/v1/requests/preview', { action: action.value, params, targets });
      const verdicts = {
        requirements: null,
        unprotected: notice('ok', 'No approval is required: the request will be approved as soon as it is submitted.'),
        denied: notice('error', 'A policy denies this request; it would be refused.'),
        error: notice('error', 'A policy fails for this request (policy_error); it would be refused.'),
        unknown_device: notice('error', 'A device is not enrolled; the request would be refused.'),
      };
      fill(verdicts[p.verdict],
        p.requirements.length ? h('ul', { class: 'requirements', id: 'preview-requirements' }, p.requirements.map((q) => h('li', {},
          h('strong', {}, `${q.approvals} approval(s)`), ' from ', h('code', {}, q.group), h('span', { class: 'muted' }, ` (policy ${q.policy})`),
          h('div', { class: 'muted' }, q.eligible.length ? `can approve: ${q.eligible.join(', ')}` : 'nobody else is in this group: it can never be met')))) : null,
        p.refusals.length ? h('ul', {}, p.refusals.map((x) => h('li', {}, h('strong', {}, x.device), ` ${x.reason}: ${x.detail}`))) : null,
        h('p', { class: 'muted' }, `Evaluated for ${p.devices} device(s) with the facts they reported.`));
    } catch (e) {
      fill(errorNotice(e));
    }
  }

  function values() {
    const v = {};
    for (const [k, input] of Object.entries(paramInputs)) v[k] = input.value.trim ? (k === 'body' ? input.value : input.value.trim()) : input.value;
    return v;
  }

  action.addEventListener('change', () => { drawParams(); schedulePreview(); });
  drawParams();

  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign and submit');
  const form = h('form', { class: 'new-request' },
    field('Action', action),
    h('fieldset', {}, h('legend', {}, 'Devices ', count),
      active.length ? [h('div', { class: 'picker-tools' }, search, groupPick), list]
        : emptyState('No enrolled devices. Create an enrollment code on the Devices page.')),
    field('Justification (required, signed, shown to approvers)', justification),
    paramBox,
    field('Expires after (days, at most 90)', days),
    h('div', { class: 'action-row' }, submit, h('a', { href: '#/requests', class: 'button' }, 'Back')));
  updateCount();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(status);
    submit.disabled = true;
    try {
      const targets = selected();
      if (!targets.length) throw new Error('devices: choose at least one device');
      const text = justification.value;
      if (!text.trim()) throw new Error('justification: a business justification is required');
      const d = toInt(days.value.trim(), 'expires after');
      if (d < 1 || d > 90) throw new Error('expires after: 1 to 90 days');
      const params = await FORMS[action.value].params(values());
      const tree = await merkleRoot(targets);
      const created = nowSeconds();
      // Member order as core's requestPayloadJson writes it.
      const payload = {
        kt: 'request/1',
        tenant: me.tenant,
        id: randomRequestId(),
        action: action.value,
        params,
        targets: { count: tree.count, root: b64u(tree.root) },
        requester: me.principal,
        justification: text,
        created,
        expires: created + d * 86400,
        bundle: bundle.payload.version,
      };
      const payloadB64 = b64uJson(payload);
      const sig = await signDetached(me.key, headers.requester(me.kid, created), payloadB64);
      const stored = await api('POST', '/api/v1/requests', {
        token: { payload: payloadB64, signatures: [sig] }, targets: tree.sorted,
      });
      go(`#/request/${encodeURIComponent(stored.id)}`);
    } catch (err) {
      status.append(errorNotice(err));
      submit.disabled = false;
    }
  });
  const grid = h('div', { class: 'detail-grid' }, h('div', {}, status, form), h('div', {}, preview));
  main.append(grid);
}
