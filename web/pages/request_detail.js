// One request: what is signed (decoded here from the signed payload, not from the
// server's summary), the targets checked against the signed Merkle root in the
// browser, every signature verified against the bundle's keys, requirements and
// progress, approvals and rejections with notes, the timeline and each device's
// result. Approve / Reject / Complete / Cancel are offered only to whom they apply,
// with the reason shown when they are not.
import { api, currentSession } from '../api.js';
import {
  b64u, fromB64u, hex, headers, merkleRoot, nowSeconds, parseB64uJson, sha256, signDetached, utf8,
} from '../crypto.js';
import {
  clear, diffView, emptyState, field, fmtRelative, h, notice, stateBadge, timeEl,
} from '../dom.js';
import { currentBundle } from '../session.js';
import { errorNotice, go } from '../ui.js';
import { highlightLua } from '../lua.js';

const BUNDLE = 'maa.bundle.update';

async function verifySignature(x, entry, payloadB64) {
  try {
    const key = await crypto.subtle.importKey('raw', fromB64u(x), { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, fromB64u(entry.signature),
      utf8(`${entry.protected}.${payloadB64}`));
  } catch (e) {
    return false;
  }
}

// Everything the browser checks before it lets anyone sign. Returns
// {ok, problems[], payload, signatures[{role, principal, kid, at, valid}]}.
export async function verifyRequest(r, bundle) {
  const problems = [];
  let payload = null;
  if (r.jws.payload !== r.payload) problems.push('the signed envelope carries another payload than the one offered for signing');
  try {
    payload = parseB64uJson(r.payload);
  } catch (e) {
    problems.push('the signed payload is not valid base64url JSON');
    return { ok: false, problems, payload, signatures: [] };
  }
  if (r.action === BUNDLE) {
    if (payload.kt !== 'bundle/1') problems.push('the payload is not a trust bundle');
    const digest = hex(await sha256(fromB64u(r.payload)));
    if (r.params.sha256 !== digest) problems.push(`the payload's SHA-256 is ${digest}, the request says ${r.params.sha256}`);
    if (payload.version !== r.params.version) problems.push(`the payload is version ${payload.version}, the request says ${r.params.version}`);
  } else {
    if (payload.kt !== 'request/1') problems.push('the payload is not a request');
    for (const k of ['id', 'action', 'requester', 'justification']) {
      if (payload[k] !== r[k]) problems.push(`the signed ${k} differs from the one shown by the server`);
    }
    try {
      const m = await merkleRoot(r.targets.map((t) => t.device));
      if (m.count !== payload.targets.count) problems.push(`the server lists ${m.count} targets, the requester signed ${payload.targets.count}`);
      if (b64u(m.root) !== payload.targets.root) problems.push('the target list does not hash to the signed Merkle root (targets_mismatch)');
      m.sorted.forEach((id, i) => {
        const t = r.targets.find((x) => x.device === id);
        if (t && t.index !== i) problems.push(`device ${id} is shown at leaf ${t.index}, the tree has it at ${i}`);
      });
    } catch (e) {
      problems.push(`the target list is not usable: ${e.message}`);
    }
  }
  const keys = new Map();
  for (const p of bundle.payload.principals) for (const k of p.keys) keys.set(k.kid, { principal: p.id, x: k.x });
  const signatures = [];
  for (const entry of r.jws.signatures) {
    let header = {};
    try { header = parseB64uJson(entry.protected); } catch (e) { /* shown as unreadable */ }
    const who = keys.get(header.kid);
    const valid = who ? await verifySignature(who.x, entry, r.jws.payload) : false;
    signatures.push({ role: header['kt.role'] || '?', principal: who ? who.principal : null, kid: header.kid, at: header['kt.at'], valid });
    if (!valid) problems.push(`a ${header['kt.role'] || ''} signature does not verify with a key of the bundle in force`);
  }
  return { ok: problems.length === 0, problems, payload, signatures };
}

function section(title, ...children) {
  const id = `s-${title.toLowerCase().replace(/[^a-z]+/g, '-')}`;
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

function dl(rows) {
  return h('dl', { class: 'facts' }, rows.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function resultView(result) {
  if (!result) return h('span', { class: 'muted' }, 'no result yet');
  const parts = [h('div', {}, stateBadge(result.state || 'reported'),
    result.exit_code !== undefined ? ` exit code ${result.exit_code}` : '',
    result.at ? [' at ', timeEl(result.at)] : '')];
  if (result.output) parts.push(h('pre', { class: 'output', tabindex: '0' }, result.output));
  return parts;
}

function diffSection(diff) {
  if (!diff) return section('Changes', notice('info', 'The diff is no longer shown: this proposal no longer follows the bundle in force.'));
  const parts = [h('p', {}, `Bundle v${diff.from_version} → v${diff.to_version}`)];
  if (diff.policies && diff.policies.length) {
    parts.push(h('h3', {}, 'Policies'));
    for (const p of diff.policies) {
      parts.push(h('h4', {}, h('code', {}, p.file), ` ${p.change}`), diffView(p.old_source || '', p.new_source || ''));
    }
  }
  if (diff.principals && diff.principals.length) {
    parts.push(h('h3', {}, 'Principals and groups'));
    parts.push(h('ul', { class: 'changes' }, diff.principals.map((p) => h('li', {},
      h('strong', {}, p.id), ` ${p.change}`,
      Object.entries(p).filter(([k, v]) => !['id', 'change'].includes(k) && Array.isArray(v) && v.length)
        .map(([k, v]) => h('div', { class: k.endsWith('added') ? 'add' : k.endsWith('removed') ? 'del' : '' }, `${k.replace(/_/g, ' ')}: ${v.join(', ')}`))))));
  }
  if (diff.roles && diff.roles.length) {
    parts.push(h('h3', {}, 'Roles'), h('ul', { class: 'changes' }, diff.roles.map((r) => h('li', {},
      h('code', {}, r.role), `: ${(r.before || []).join(', ') || '—'} → ${(r.after || []).join(', ') || '—'}`))));
  }
  if (diff.update && diff.update.before && JSON.stringify(diff.update.before) !== JSON.stringify(diff.update.after)) {
    parts.push(h('h3', {}, 'Update rule'), h('p', {}, `${diff.update.before.threshold} of ${diff.update.before.group} → ${diff.update.after.threshold} of ${diff.update.after.group}`));
  }
  if (diff.issuers && ((diff.issuers.added || []).length || (diff.issuers.removed || []).length)) {
    parts.push(h('h3', {}, 'Issuers'), h('p', {}, `added: ${(diff.issuers.added || []).join(', ') || '—'}; removed: ${(diff.issuers.removed || []).join(', ') || '—'}`));
  }
  if (diff.expires && diff.expires.before !== diff.expires.after) {
    parts.push(h('h3', {}, 'Expiry'), h('p', {}, timeEl(diff.expires.before), ' → ', timeEl(diff.expires.after)));
  }
  return section('Changes', parts);
}

// The proposal report (core bundle_report, the same one `keyturn bundle propose` prints):
// the saved example requests re-run under the bundle in force and the proposed one, so an
// approver sees which real requests would need something different before signing.
function reportSection(report) {
  if (!report) return null;
  const parts = [];
  if (report.old_load_error) parts.push(notice('error', h('strong', {}, 'The bundle in force does not load: '), report.old_load_error));
  if (report.new_load_error) parts.push(notice('error', h('strong', {}, 'The proposed bundle does not load: '), report.new_load_error));
  if (report.examples_error) {
    parts.push(notice('warn', h('strong', {}, 'Example requests not loaded: '), report.examples_error));
  }
  const from = report.examples_from ? ` from ${report.examples_from}` : ' (no example folder found)';
  parts.push(h('p', { id: 'examples-summary' },
    `${report.examples} example request(s) evaluated${from}; ${report.examples_changed.length} would need something different.`));
  if (report.examples_changed.length) {
    parts.push(h('div', { class: 'table-wrap' }, h('table', { class: 'list', id: 'examples-changed' },
      h('caption', {}, 'Example requests whose requirement changes'),
      h('thead', {}, h('tr', {}, ['Example', 'Under the bundle in force', 'Under the proposal'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, report.examples_changed.map((c) => h('tr', {},
        h('td', {}, h('strong', {}, c.name), h('div', { class: 'muted' }, c.file)),
        h('td', { class: 'del' }, c.before),
        h('td', { class: 'add' }, c.after)))))));
  } else if (report.examples > 0) {
    parts.push(notice('ok', 'No saved example request changes its requirement.'));
  }
  return section('Effect on example requests', parts);
}

function reasonText(refusal) {
  const plain = {
    self_approval: 'You asked for this request: someone else must approve it.',
    already_approved: 'You already approved this request.',
    not_an_approver: 'You are not in a group this request still needs.',
    wrong_state: 'It no longer waits for approvals.',
    request_expired: 'The request has expired.',
    bundle_stale: 'It was made under an older trust bundle; the requester must submit it again.',
    unknown_principal: 'You are not in the trust bundle in force.',
  };
  return [plain[refusal.reason] || '', ' ', h('code', {}, refusal.reason), `: ${refusal.detail}`];
}

export async function render(main, { arg: id }) {
  const me = currentSession();
  const [r, bundle] = await Promise.all([
    api('GET', `/api/v1/requests/${encodeURIComponent(id)}`),
    currentBundle(),
  ]);
  const check = await verifyRequest(r, bundle);
  const p = check.payload || {};
  const isBundle = r.action === BUNDLE;
  const now = nowSeconds();
  const pending = r.state === 'needs_approval' || r.state === 'approved';

  main.append(h('div', { class: 'page-head' },
    h('h1', {}, isBundle ? 'Access policy change ' : 'Request ', h('code', {}, r.id)),
    stateBadge(r.state)));
  const status = h('div', { id: 'action-status', 'aria-live': 'polite' });
  main.append(status);
  if (pending && r.expires - now < 86400) {
    main.append(notice('warn', h('strong', {}, 'Expires soon: '), `this request expires ${fmtRelative(r.expires)} (`, timeEl(r.expires), ').'));
  }
  main.append(check.ok
    ? notice('ok', isBundle
      ? 'Verified here: the proposed bundle matches its digest and every signature verifies with a key of the bundle in force.'
      : `Verified here: the ${r.targets.length} target(s) hash to the signed Merkle root and every signature verifies with a key of the bundle in force.`)
    : notice('error', h('strong', {}, 'Do not sign: '), 'this browser could not verify what you would sign.',
      h('ul', {}, check.problems.map((x) => h('li', {}, x)))));

  const grid = h('div', { class: 'detail-grid' });
  main.append(grid);
  const left = h('div', {});
  const right = h('div', {});
  grid.append(left, right);

  left.append(section('What and why', dl([
    ['Action', h('code', {}, p.action || r.action)],
    !isBundle && ['Parameters', h('pre', { class: 'params' }, JSON.stringify(p.params || r.params, null, 2))],
    ['Requested by', p.requester || r.requester],
    ['Justification', h('blockquote', { class: 'justification' }, r.justification)],
    ['Signed at', timeEl(p.created || r.created)],
    ['Expires', timeEl(r.expires)],
    ['Bundle', `v${r.bundle}`],
    isBundle && ['Proposed version', `v${r.params.version}`],
    isBundle && ['SHA-256', h('code', { class: 'wrap' }, r.params.sha256)],
  ])));

  if (isBundle) {
    left.append(diffSection(r.diff));
    const impact = reportSection(r.report);
    if (impact) left.append(impact);
    if (check.payload && check.payload.policies) {
      left.append(section('Proposed policies (as signed)', check.payload.policies.map((pol) => [
        h('h3', {}, h('code', {}, pol.name)), highlightLua(pol.source)])));
    }
  } else {
    left.append(section(`Targets (${r.targets.length})`, r.targets.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'list', id: 'targets' },
      h('thead', {}, h('tr', {}, ['Device', 'Leaf', 'State', 'Updated', 'Result'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, r.targets.map((t) => h('tr', { 'data-device': t.device },
        h('td', {}, h('a', { href: `#/devices/${encodeURIComponent(t.device)}` }, t.device)),
        h('td', { class: 'num' }, String(t.index)),
        h('td', {}, stateBadge(t.state)),
        h('td', {}, timeEl(t.updated)),
        h('td', { class: 'result' }, resultView(t.result))))))) : emptyState('No targets.')));
  }

  right.append(section('Approvals required', r.requirements.length
    ? h('ul', { class: 'requirements' }, r.requirements.map((q) => h('li', {},
      h('div', {}, h('strong', {}, `${q.have} of ${q.approvals}`), ` from `, h('code', {}, q.group), q.met ? ' — met' : ''),
      h('meter', { min: '0', max: String(Math.max(q.approvals, 1)), value: String(q.have), 'aria-label': `${q.have} of ${q.approvals} from ${q.group}` }),
      h('div', { class: 'muted' }, `policy ${q.policy}`))))
    : emptyState('No approvals are required.')));

  right.append(actionsCard(r, check, me, status));

  right.append(section('Approvals and rejections',
    r.approvals.length || r.rejections.length ? h('ul', { class: 'decisions' },
      r.approvals.map((a) => h('li', { class: 'approval' }, h('strong', {}, a.principal), ' approved ', timeEl(a.at),
        h('blockquote', {}, a.notes))),
      r.rejections.map((a) => h('li', { class: 'rejection' }, h('strong', {}, a.principal), ' rejected ', timeEl(a.at),
        h('blockquote', {}, a.notes)))) : emptyState('No decisions yet.')));

  right.append(section('Signatures', h('ul', { class: 'signatures' }, check.signatures.map((s) => h('li', {},
    s.valid ? '✓ ' : '✗ ', h('strong', {}, s.principal || 'unknown key'), ` (${s.role}) `, s.at ? timeEl(s.at) : '',
    s.valid ? '' : h('span', { class: 'warn-text' }, ' does not verify'))))));

  right.append(section('Timeline', r.timeline.length ? h('ol', { class: 'timeline' }, r.timeline.map((t) => h('li', {},
    timeEl(t.at), ' ', h('strong', {}, t.actor), ` ${t.event}`, t.notes ? h('blockquote', {}, t.notes) : null))) : emptyState('Nothing yet.')));
}

function disabledWithReason(label, reason) {
  const id = `why-${label.toLowerCase().replace(/\W+/g, '-')}`;
  return h('div', { class: 'action-row' },
    h('button', { type: 'button', disabled: true, 'aria-describedby': id }, label),
    h('p', { class: 'reason', id }, reason));
}

function actionsCard(r, check, me, status) {
  const isBundle = r.action === BUNDLE;
  const isRequester = me.principal === r.requester;
  const card = section('Your actions');
  const run = async (btn, fn) => {
    clear(status);
    const buttons = card.querySelectorAll('button');
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await fn();
      go(location.hash);
    } catch (e) {
      status.append(errorNotice(e));
      buttons.forEach((b) => { b.disabled = false; });
    }
  };

  // Approve / Reject
  if (r.approve_refusal) {
    card.append(disabledWithReason('Approve', reasonText(r.approve_refusal)));
  } else if (!check.ok) {
    card.append(disabledWithReason('Approve', 'The browser could not verify what you would sign (see above).'));
  } else {
    const notes = h('textarea', { name: 'notes', rows: '3', maxlength: '1024', required: true });
    const approve = h('button', { type: 'submit', class: 'primary', name: 'approve' }, isBundle ? 'Approve and sign the bundle' : 'Approve and sign');
    const reject = h('button', { type: 'button', class: 'danger', name: 'reject' }, 'Reject');
    const form = h('form', { class: 'decide' }, field('Notes (required, shown to the requester)', notes), h('div', { class: 'action-row' }, approve, reject));
    const needNotes = () => {
      if (!notes.value.trim()) {
        notes.setCustomValidity('Notes are required');
        notes.reportValidity();
        return false;
      }
      notes.setCustomValidity('');
      return true;
    };
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!needNotes()) return;
      run(approve, async () => {
        const at = nowSeconds();
        const header = isBundle ? headers.bundle(me.kid, at) : headers.approver(me.kid, at);
        const sig = await signDetached(me.key, header, r.payload);
        await api('POST', `/api/v1/requests/${encodeURIComponent(r.id)}/approve`, { ...sig, notes: notes.value });
      });
    });
    reject.addEventListener('click', () => {
      if (!needNotes()) return;
      run(reject, () => api('POST', `/api/v1/requests/${encodeURIComponent(r.id)}/reject`, { notes: notes.value }));
    });
    card.append(form);
  }

  // Complete
  if (!isRequester) {
    card.append(disabledWithReason('Complete', [`Only the requester (${r.requester}) can complete it `, h('code', {}, 'not_requester'), '.']));
  } else if (r.state === 'needs_approval') {
    card.append(disabledWithReason('Complete', ['It still needs approvals ', h('code', {}, 'not_approved'), '.']));
  } else if (r.state !== 'approved') {
    card.append(disabledWithReason('Complete', `It is ${r.state.replace(/_/g, ' ')}.`));
  } else if (!check.ok) {
    card.append(disabledWithReason('Complete', 'The browser could not verify what you would sign (see above).'));
  } else {
    const btn = h('button', { type: 'button', class: 'primary', name: 'complete' },
      isBundle ? 'Publish the bundle' : 'Complete and issue tokens');
    btn.addEventListener('click', () => run(btn, async () => {
      if (isBundle) {
        await api('POST', `/api/v1/requests/${encodeURIComponent(r.id)}/complete`, {});
        return;
      }
      // The completer signs at or after every approval, as the agent requires.
      const last = Math.max(0, ...check.signatures.filter((s) => s.role === 'approver').map((s) => s.at || 0));
      const sig = await signDetached(me.key, headers.completer(me.kid, Math.max(nowSeconds(), last)), r.payload);
      await api('POST', `/api/v1/requests/${encodeURIComponent(r.id)}/complete`, sig);
    }));
    card.append(h('div', { class: 'action-row' }, btn,
      h('p', { class: 'reason' }, isBundle ? 'Puts the new bundle in force for the coordinator and every agent.' : 'Signs as completer; the coordinator then issues one token per device.')));
  }

  // Cancel
  if (!isRequester) {
    card.append(disabledWithReason('Cancel', [`Only the requester (${r.requester}) can cancel it `, h('code', {}, 'not_requester'), '.']));
  } else if (r.state !== 'needs_approval' && r.state !== 'approved') {
    card.append(disabledWithReason('Cancel', `It is ${r.state.replace(/_/g, ' ')}.`));
  } else {
    const btn = h('button', { type: 'button', class: 'danger', name: 'cancel' }, 'Cancel request');
    btn.addEventListener('click', () => {
      if (!window.confirm(`Cancel request ${r.id}? This cannot be undone.`)) return;
      run(btn, () => api('POST', `/api/v1/requests/${encodeURIComponent(r.id)}/cancel`));
    });
    card.append(h('div', { class: 'action-row' }, btn));
  }
  return card;
}
