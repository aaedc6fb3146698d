// Access policies: the bundle in force (policies with syntax highlighting, groups
// and members, roles, the update rule), and "propose a change": edit policies or
// group membership, review the diff, then sign the next bundle here and submit it
// as a maa.bundle.update request that goes through the same approval flow.
import { api, currentSession } from '../api.js';
import { b64uJson, headers, nowSeconds, parsePublicKeyFile, signDetached } from '../crypto.js';
import { clear, diffView, emptyState, field, h, notice, timeEl } from '../dom.js';
import { highlightLua } from '../lua.js';
import { currentBundle } from '../session.js';
import { errorNotice, go } from '../ui.js';

function groupsTable(payload) {
  const groups = new Map();
  for (const p of payload.principals) for (const g of p.groups) {
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(p.id);
  }
  const rolesOf = (g) => Object.entries(payload.roles || {}).filter(([, gs]) => gs.includes(g)).map(([r]) => r);
  return h('div', { class: 'table-wrap' }, h('table', { class: 'list', id: 'groups' },
    h('thead', {}, h('tr', {}, ['Group', 'Members', 'Roles'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, [...groups.keys()].sort().map((g) => h('tr', {},
      h('th', { scope: 'row' }, h('code', {}, g), g === payload.update.group ? h('span', { class: 'muted' }, ' (signs bundle changes)') : null),
      h('td', {}, groups.get(g).join(', ')),
      h('td', {}, rolesOf(g).map((r) => h('code', { class: 'role' }, r))))))));
}

async function view(main) {
  const bundle = await currentBundle();
  const p = bundle.payload;
  main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Access policies'),
    h('a', { class: 'button primary', href: '#/policies/propose' }, 'Propose a change')));
  main.append(h('section', { class: 'card' }, h('h2', {}, `Trust bundle v${p.version}`), h('dl', { class: 'facts' },
    h('dt', {}, 'Tenant'), h('dd', {}, p.tenant),
    h('dt', {}, 'Issued'), h('dd', {}, timeEl(p.issued)),
    h('dt', {}, 'Expires'), h('dd', {}, timeEl(p.expires)),
    h('dt', {}, 'Changes need'), h('dd', {}, `${p.update.threshold} signature(s) from ${p.update.group}`),
    h('dt', {}, 'Signed by'), h('dd', {}, String(bundle.jws.signatures.length), ' admin signature(s)'))));
  main.append(h('section', { class: 'card' }, h('h2', {}, 'Groups and members'), groupsTable(p)));
  const roles = Object.entries(p.roles || {});
  main.append(h('section', { class: 'card' }, h('h2', {}, 'Roles'), roles.length
    ? h('ul', {}, roles.map(([r, gs]) => h('li', {}, h('code', {}, r), ': ', gs.join(', '))))
    : emptyState('No roles are granted.')));
  main.append(h('section', { class: 'card', id: 'policies' }, h('h2', {}, `Policies (${p.policies.length})`),
    p.policies.length ? p.policies.map((pol) => h('article', { class: 'policy' },
      h('h3', {}, h('code', {}, pol.name)), highlightLua(pol.source)))
      : emptyState('No policies: every action needs only the requester, completer and issuer signatures.')));
}

// The editor: policies (edit, add, remove) and each principal's groups.
async function propose(main) {
  const me = currentSession();
  const bundle = await currentBundle();
  const current = bundle.payload;
  main.append(h('h1', {}, 'Propose a change'));
  main.append(h('p', {}, `Drafts bundle v${current.version + 1} from v${current.version}. You sign it here; it is published only after `,
    `${current.update.threshold} member(s) of ${current.update.group} (and the new bundle's own rule) signed it.`));
  const status = h('div', { 'aria-live': 'polite' });
  main.append(status);

  const policyRows = current.policies.map((pol) => {
    const source = h('textarea', { class: 'mono', rows: String(Math.min(20, pol.source.split('\n').length + 1)), name: `policy-${pol.name}` });
    source.value = pol.source;
    const remove = h('input', { type: 'checkbox', name: `remove-${pol.name}` });
    return { name: pol.name, source, remove, el: h('div', { class: 'policy-edit' }, field(`Policy ${pol.name}`, source), h('label', {}, remove, ' remove this policy')) };
  });
  const newName = h('input', { name: 'new-policy-name', placeholder: 'e.g. apps.lua', pattern: '[A-Za-z0-9._\\-]+\\.lua' });
  const newSource = h('textarea', { class: 'mono', rows: '6', name: 'new-policy-source' });
  const principalRows = current.principals.map((pr) => {
    const input = h('input', { name: `groups-${pr.id}`, value: pr.groups.join(', '), size: '50' });
    return { id: pr.id, input, el: field(`Groups of ${pr.id}`, input, 'comma separated') };
  });
  const newKey = h('textarea', { class: 'mono', rows: '3', name: 'new-key', placeholder: '{"id":"dave","kid":"…","x":"…"}' });
  const newKeyGroups = h('input', { name: 'new-key-groups', size: '50' });
  const expiresDays = h('input', { name: 'expires_days', value: String(Math.max(1, Math.round((current.expires - nowSeconds()) / 86400))), inputmode: 'numeric', size: '4' });
  const initialDays = expiresDays.value;
  const justification = h('textarea', { name: 'justification', rows: '3', maxlength: '1024', required: true });
  const review = h('section', { class: 'card', id: 'review', 'aria-live': 'polite' });
  const reviewBtn = h('button', { type: 'button', name: 'review' }, 'Review the change');
  const submitBtn = h('button', { type: 'submit', class: 'primary', name: 'propose', disabled: true }, 'Sign and propose');

  // A pasted ID.pub.json (from `keyturn key new` or made in a browser): a key for an
  // existing principal (at most 4 each), or a new principal with the given groups.
  async function addKey(next) {
    if (!newKey.value.trim()) return null;
    const k = await parsePublicKeyFile(newKey.value.trim());
    for (const pr of next.principals) {
      if (pr.keys.some((x) => x.x === k.x)) throw new Error(`public key: already in the bundle (a key of ${pr.id})`);
    }
    const existing = next.principals.find((x) => x.id === k.id);
    if (existing) {
      if (existing.keys.length >= 4) throw new Error(`public key: ${k.id} already holds 4 keys, the most a principal may hold`);
      existing.keys.push({ kid: k.kid, x: k.x });
      return { id: k.id, kid: k.kid, added: false };
    }
    const groups = [...new Set(newKeyGroups.value.split(',').map((g) => g.trim()).filter(Boolean))];
    if (!groups.length) throw new Error(`groups of the new principal ${k.id}: at least one`);
    next.principals.push({ id: k.id, groups, keys: [{ kid: k.kid, x: k.x }] });
    return { id: k.id, kid: k.kid, added: true, groups };
  }

  async function draft() {
    const next = JSON.parse(JSON.stringify(current));
    next.version = current.version + 1;
    next.issued = nowSeconds();
    // The expiry stays the current one unless the field was changed.
    if (expiresDays.value.trim() !== initialDays) {
      const d = Number(expiresDays.value.trim());
      if (!Number.isInteger(d) || d < 1 || d > 3650) throw new Error('expires after: 1 to 3650 days');
      next.expires = next.issued + d * 86400;
    }
    next.policies = policyRows.filter((r) => !r.remove.checked).map((r) => ({ name: r.name, source: r.source.value }));
    if (newName.value.trim()) {
      if (!/^[A-Za-z0-9._-]+\.lua$/.test(newName.value.trim())) throw new Error('new policy: the file name must end in .lua');
      if (next.policies.some((x) => x.name === newName.value.trim())) throw new Error('new policy: that name exists');
      next.policies.push({ name: newName.value.trim(), source: newSource.value });
    }
    for (const row of principalRows) {
      const groups = row.input.value.split(',').map((g) => g.trim()).filter(Boolean);
      next.principals.find((x) => x.id === row.id).groups = [...new Set(groups)];
    }
    return { next, key: await addKey(next) };
  }

  function showReview(next, key) {
    clear(review);
    review.append(h('h2', {}, 'Review'));
    const parts = [];
    const before = new Map(current.policies.map((x) => [x.name, x.source]));
    const after = new Map(next.policies.map((x) => [x.name, x.source]));
    for (const name of new Set([...before.keys(), ...after.keys()])) {
      if (before.get(name) === after.get(name)) continue;
      const change = !before.has(name) ? 'added' : !after.has(name) ? 'removed' : 'modified';
      parts.push(h('h3', {}, h('code', {}, name), ` ${change}`), diffView(before.get(name) || '', after.get(name) || ''));
    }
    if (key) {
      parts.push(h('p', { class: 'membership' }, h('strong', {}, key.id), h('span', { class: 'add' }, key.added
        ? ` is added with key ${key.kid}, groups ${key.groups.join(', ')}`
        : ` gets another key ${key.kid}`)));
    }
    for (const pr of next.principals) {
      const was = current.principals.find((x) => x.id === pr.id);
      if (!was) continue;
      const old = was.groups;
      const added = pr.groups.filter((g) => !old.includes(g));
      const removed = old.filter((g) => !pr.groups.includes(g));
      if (added.length || removed.length) {
        parts.push(h('p', { class: 'membership' }, h('strong', {}, pr.id), added.length ? h('span', { class: 'add' }, ` joins ${added.join(', ')}`) : null,
          removed.length ? h('span', { class: 'del' }, ` leaves ${removed.join(', ')}`) : null));
      }
    }
    if (next.expires !== current.expires) parts.push(h('p', {}, 'Expires ', timeEl(current.expires), ' → ', timeEl(next.expires)));
    if (!parts.length) parts.push(notice('info', 'Nothing changes besides the version and dates.'));
    review.append(...parts);
  }

  let reviewed = null;
  reviewBtn.addEventListener('click', async () => {
    clear(status);
    try {
      const d = await draft();
      reviewed = d.next;
      showReview(d.next, d.key);
      submitBtn.disabled = false;
      review.focus();
    } catch (e) { status.append(errorNotice(e)); }
  });
  const form = h('form', { class: 'propose' },
    h('fieldset', {}, h('legend', {}, 'Policies'), policyRows.map((r) => r.el),
      h('div', { class: 'policy-edit' }, field('New policy file', newName), field('New policy source', newSource))),
    h('fieldset', {}, h('legend', {}, 'Group membership'), principalRows.map((r) => r.el)),
    h('fieldset', {}, h('legend', {}, 'Add a principal or a key'),
      field('Public key (NAME.pub.json)', newKey, 'made by keyturn key new, or by "Create a key in this browser" on the sign-in page'),
      field('Groups of a new principal', newKeyGroups, 'comma separated; ignored when the id is already in the bundle')),
    field('The new bundle expires after (days)', expiresDays),
    field('Justification (required)', justification),
    h('div', { class: 'action-row' }, reviewBtn, submitBtn, h('a', { class: 'button', href: '#/policies' }, 'Back')));
  form.addEventListener('input', (e) => { if (e.target !== justification) submitBtn.disabled = true; });
  review.setAttribute('tabindex', '-1');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(status);
    if (!reviewed) return;
    if (!justification.value.trim()) { status.append(notice('error', 'justification: required')); return; }
    submitBtn.disabled = true;
    try {
      const payload = b64uJson(reviewed);
      const sig = await signDetached(me.key, headers.bundle(me.kid, nowSeconds()), payload);
      const stored = await api('POST', '/api/v1/bundle-proposals', {
        bundle: { payload, signatures: [sig] }, justification: justification.value,
      });
      go(`#/request/${encodeURIComponent(stored.id)}`);
    } catch (err) {
      status.append(errorNotice(err));
      submitBtn.disabled = false;
    }
  });
  main.append(form, review);
}

export async function render(main, { mode }) {
  if (mode === 'propose') return propose(main);
  return view(main);
}
