// Browser test of the web console (issue 6) with Debian's chromium driven by
// playwright-core: a real coordinator and tenant made with the built CLI, two browser
// contexts as alice and bob playing the seed story with every signature made by
// WebCrypto in the page, a device that receives the token and reports its result
// over mutual TLS, the token accepted by `keyturn-agent verify` and by jose, the XSS,
// CSRF / missing-auth and header cases, and a screenshot of each page.
//
//   node console.test.mjs BUILD_DIR OUT_DIR
//
// Exit status 0 when every check holds. Chromium: KEYTURN_CHROMIUM or /usr/bin/chromium.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const build = path.resolve(process.argv[2] || path.join(here, '../../build'));
const out = path.resolve(process.argv[3] || path.join(build, 'test-output/web'));
const keyturn = path.join(build, 'cli/keyturn');
const agentBin = path.join(build, 'agent/keyturn-agent');
const serverBin = fs.existsSync(path.join(build, 'server/app/keyturn-server'))
  ? path.join(build, 'server/app/keyturn-server') : path.join(build, 'server/keyturn-server');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'keyturn-web-'));
fs.mkdirSync(out, { recursive: true });

let server = null;
let browser = null;
let serverLog = '';
let step = '';
const pageErrors = [];
const openPages = [];
const log = (s) => { step = s; console.log(`== ${s}`); };

function run(bin, args, opts = {}) {
  return execFileSync(bin, args, { cwd: work, encoding: 'utf8', env: { ...process.env, HOME: work, XDG_CONFIG_HOME: '' }, ...opts });
}
const write = (name, text) => fs.writeFileSync(path.join(work, name), text);

async function startServer(data) {
  server = spawn(serverBin, ['run', '--data', data, '--port', '0', '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${serverLog}`)), 20000);
    server.stderr.on('data', (chunk) => {
      serverLog += chunk;
      const m = /"msg":"listening".*"port":(\d+)/.exec(serverLog);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    server.on('exit', (code) => reject(new Error(`the server exited ${code}: ${serverLog}`)));
  });
}

// A plain or mutual-TLS call from node (the device, and the CSRF checks).
function call(port, method, p, { body, headers = {}, device, host = '127.0.0.1' } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host, port, path: p, method, servername: 'localhost', ca: fs.readFileSync(path.join(work, 'data/ca.pem')),
      headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
      ...(device ? { key: device.key, cert: device.cert } : {}),
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(typeof body === 'string' ? body : JSON.stringify(body));
    req.end();
  });
}

async function signInAs(context, base, principal) {
  const page = await context.newPage();
  openPages.push([principal, page]);
  page.on('pageerror', (e) => pageErrors.push(`${principal}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(`${principal} console: ${m.text()}`); });
  await page.goto(`${base}/`);
  await page.getByLabel('Principal id').fill(principal);
  await page.getByLabel('Key file').setInputFiles(path.join(work, `keys/${principal}.key`));
  await page.getByRole('button', { name: 'Import and sign in' }).click();
  await page.locator('#whoami').filter({ hasText: principal }).waitFor();
  return page;
}

// In-page navigation: the session lives in the page's memory, so a reload would sign
// out; the same hash again re-renders the page (what the console's own links do).
const visit = (page, hash) => page.evaluate((h) => {
  if (!h || location.hash === h) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = h;
}, hash);

// Opens a request's page and waits until that request is rendered and verified.
async function openRequest(page, id) {
  await visit(page, `#/request/${id}`);
  await page.locator('h1 code').filter({ hasText: id }).waitFor();
  await page.getByText('Verified here').waitFor();
}

const shot = (page, name) => page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true });

async function approveRefusal(page) {
  const why = page.locator('.action-row', { has: page.locator('button:has-text("Approve")') }).locator('.reason');
  return why.innerText();
}

async function main() {
  log('tenant: keys, roster, bundle v1 signed by alice and bob');
  run(serverBin, ['init', '--data', 'data', '--tenant', 'contoso', '--hostname', 'localhost']);
  const props = path.join(work, 'data/keyturn-server.properties');
  fs.writeFileSync(props, fs.readFileSync(props, 'utf8').replace(/keyturn\.bind *[:=][^\n]*/, 'keyturn.bind = 127.0.0.1:8443'));
  fs.mkdirSync(path.join(work, 'keys'));
  fs.mkdirSync(path.join(work, 'policies'));
  for (const who of ['alice', 'bob', 'carol']) run(keyturn, ['key', 'new', '--id', who, '--out', `keys/${who}.key`]);
  write('roster.json', JSON.stringify({
    tenant: 'contoso',
    issuers: [path.join(work, 'data/issuer.pub.json')],
    principals: [
      { id: 'alice', groups: ['maa-admins', 'device-admins', 'device-approvers'], keys: ['keys/alice.pub.json'] },
      { id: 'bob', groups: ['maa-admins'], keys: ['keys/bob.pub.json'] },
      { id: 'carol', groups: ['auditors'], keys: ['keys/carol.pub.json'] },
    ],
    update: { group: 'maa-admins', threshold: 2 },
    roles: { 'audit.read': ['maa-admins', 'auditors'], 'devices.enroll': ['device-admins'], 'requests.read_all': ['maa-admins'] },
  }));
  write('policies/device_actions.lua', `-- Wipes need a second person.
return {
  name = "device-actions",
  actions = { "device.wipe", "device.retire" },
  evaluate = function(req, device)
    if device.ownership == "personal" then return { approvals = 2, group = "device-approvers" } end
    return { approvals = 1, group = "device-approvers" }
  end,
}
`);
  run(keyturn, ['bundle', 'new', '--roster', 'roster.json', '--policies', 'policies', '--version', '1', '--out', 'bundle-v1.json']);
  run(keyturn, ['bundle', 'sign', '--bundle', 'bundle-v1.json', '--key', 'keys/alice.key']);
  run(keyturn, ['bundle', 'sign', '--bundle', 'bundle-v1.json', '--key', 'keys/bob.key']);
  fs.copyFileSync(path.join(work, 'bundle-v1.json'), path.join(work, 'data/bundle.json'));
  // Saved example requests (keyturn.policy.examples defaults to DATA/policy-examples):
  // re-run under both bundles for every proposal and shown to its approvers.
  fs.mkdirSync(path.join(work, 'data/policy-examples'));
  for (const [file, ownership] of [['corporate-wipe.json', 'corporate'], ['personal-wipe.json', 'personal']]) {
    write(`data/policy-examples/${file}`, JSON.stringify({
      name: `wipe a ${ownership} laptop`,
      request: { action: 'device.wipe', params: { mode: 'full' }, requester: 'alice', groups: ['device-admins'],
        justification: 'Stolen laptop', targets: 1, now: 1764583200 },
      device: { id: `${ownership}-1`, ownership, platform: 'linux' },
    }));
  }
  const port = await startServer(path.join(work, 'data'));
  const base = `https://localhost:${port}`;

  log('headers: CSP without inline script, frame-ancestors none, nosniff, referrer policy');
  for (const p of ['/', '/ui/app.js', '/api/v1/requests']) {
    const r = await call(port, 'GET', p);
    const csp = r.headers['content-security-policy'] || '';
    assert.match(csp, /script-src 'self'(;|$)/, `${p}: CSP ${csp}`);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, `${p}: CSP ${csp}`);
    assert.match(csp, /frame-ancestors 'none'/, `${p}: CSP ${csp}`);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', p);
    assert.equal(r.headers['referrer-policy'], 'no-referrer', p);
    assert.equal(r.headers['x-frame-options'], 'DENY', p);
  }
  assert.equal((await call(port, 'GET', '/')).headers['content-type'], 'text/html; charset=utf-8');
  assert.match((await call(port, 'GET', '/ui/app.js')).headers['content-type'], /^text\/javascript/);
  for (const bad of ['/ui/../keyturn-server.properties', '/ui/%2e%2e/keyturn.db', '/ui/.hidden', '/ui/nope.js', '/ui/CMakeLists.txt']) {
    assert.equal((await call(port, 'GET', bad)).status, 404, bad);
  }
  assert.equal((await call(port, 'POST', '/ui/app.js', { body: {} })).status, 405);

  log('missing auth: every state change without a session is 401 and changes nothing');
  for (const [m, p] of [['GET', '/api/v1/requests'], ['POST', '/api/v1/requests/r-x/approve'], ['POST', '/api/v1/requests/r-x/cancel'],
    ['POST', '/api/v1/devices/enrollment-codes'], ['POST', '/api/v1/requests/preview']]) {
    const r = await call(port, m, p, { body: m === 'POST' ? {} : undefined, headers: { Cookie: 'session=anything' } });
    assert.equal(r.status, 401, `${m} ${p}: ${r.text}`);
  }

  browser = await chromium.launch({ executablePath: process.env.KEYTURN_CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  console.log(`chromium ${browser.version()}`);
  const ctxA = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const ctxB = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });

  log('sign-in page, then alice and bob import their key files and sign in');
  {
    const p = await ctxB.newPage();
    await p.goto(`${base}/`);
    await p.getByRole('heading', { name: 'Sign in' }).waitFor();
    await shot(p, '01-sign-in');
    assert.equal(await p.evaluate(() => window.isSecureContext && typeof crypto.subtle.sign), 'function');
    await p.close();
  }
  const alice = await signInAs(ctxA, base, 'alice');
  const bob = await signInAs(ctxB, base, 'bob');

  log('the key in IndexedDB is a non-extractable Ed25519 CryptoKey');
  const stored = await alice.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('keyturn-console', 1);
    open.onsuccess = () => {
      const get = open.result.transaction('keys').objectStore('keys').get('alice');
      get.onsuccess = async () => {
        const k = get.result.key;
        let exported = 'no';
        try { await crypto.subtle.exportKey('pkcs8', k); exported = 'yes'; } catch (e) { /* expected */ }
        resolve({ type: k.type, alg: k.algorithm.name, extractable: k.extractable, usages: k.usages, exported });
      };
      get.onerror = () => reject(get.error);
    };
  }));
  assert.deepEqual(stored, { type: 'private', alg: 'Ed25519', extractable: false, usages: ['sign'], exported: 'no' });

  log('a wrong key for a principal is refused at sign-in and not kept');
  {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    const p = await ctx.newPage();
    await p.goto(`${base}/`);
    await p.getByLabel('Principal id').fill('alice');
    await p.getByLabel('Key file').setInputFiles(path.join(work, 'keys/bob.key'));
    await p.getByRole('button', { name: 'Import and sign in' }).click();
    await p.getByRole('alert').filter({ hasText: 'unknown_key' }).waitFor();
    await p.reload(); // the page shows every key kept in this browser: none
    await p.getByRole('heading', { name: 'Import your key' }).waitFor();
    assert.equal(await p.getByRole('button', { name: /^Sign in as/ }).count(), 0);
    await ctx.close();
  }

  log('alice creates an enrollment code in the browser; a device enrolls with it');
  await visit(alice, `#/devices`);
  await alice.getByRole('button', { name: 'Create enrollment code' }).click();
  const code = (await alice.locator('#enrollment-code').innerText()).trim();
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const enrolled = await call(port, 'POST', '/api/v1/agent/enroll', {
    body: {
      code, device_id: 'laptop-17', public_key: publicKey.export({ type: 'spki', format: 'pem' }),
      facts: { ownership: 'corporate', platform: 'debian', os_version: '12', groups: ['kiosks'], tags: { site: 'leeds' } },
    },
  });
  assert.equal(enrolled.status, 201, enrolled.text);
  const device = { key: privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: enrolled.json().certificate };
  await call(port, 'GET', '/api/v1/agent/bundles?after=0', { device }); // a first contact
  // The agent's facts report carries its program and trust bundle versions; the Devices
  // page shows them.
  const report = await call(port, 'PUT', '/api/v1/agent/facts', {
    device,
    body: {
      ownership: 'corporate', platform: 'debian', os_version: '12', groups: ['kiosks'], tags: { site: 'leeds' },
      agent_version: '0.1.0-test', bundle_version: 1,
      libraries: [
        { name: 'OpenSSL', version: '3.0.19', from: 'keyturn-agent' },
        { name: 'SQLite', version: '3.40.1', from: '/lib/x86_64-linux-gnu/libsqlite3.so.0' },
      ],
    },
  });
  assert.equal(report.status, 204, report.text);
  await visit(alice, `#/devices`);
  await alice.locator('#devices tr[data-device="laptop-17"]').waitFor();
  const deviceRow = alice.locator('#devices tr[data-device="laptop-17"]');
  assert.equal((await deviceRow.locator('td.bundle-version').innerText()).trim(), 'v1');
  assert.match((await deviceRow.locator('td.agent-version').innerText()).trim(), /^0\.1\.0-test\s/);
  assert.equal((await deviceRow.locator('td.agent-version .openssl').innerText()).trim(), 'OpenSSL 3.0.19');
  await shot(alice, '02-devices');
  await visit(alice, `#/devices/laptop-17`);
  await alice.locator('dl.facts').getByText('leeds').waitFor();
  // Which libraries the agent carries, and whether each is built in (a security advisory).
  assert.equal((await alice.locator('ul.libraries li[data-library="OpenSSL"]').innerText()).trim(),
    'OpenSSL 3.0.19 (built into the agent)');
  assert.equal((await alice.locator('ul.libraries li[data-library="SQLite"]').innerText()).trim(),
    'SQLite 3.40.1 /lib/x86_64-linux-gnu/libsqlite3.so.0');
  await shot(alice, '03-device-detail');

  const xss = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> Lost on the train';
  async function newWipe(justification) {
    await visit(alice, `#/requests/new`);
    await alice.getByLabel('Action').selectOption('device.wipe');
    await alice.locator('#device-picker').getByText('laptop-17').click();
    await alice.locator('#preview-requirements').filter({ hasText: 'device-approvers' }).waitFor();
    await alice.getByLabel(/^Justification/).fill(justification);
    return alice;
  }

  log('alice asks for a wipe: the live preview shows one approval from device-approvers, nobody else eligible yet');
  await newWipe(xss);
  const previewText = await alice.locator('#preview-requirements').innerText();
  assert.match(previewText, /1 approval\(s\) from device-approvers/);
  assert.match(previewText, /nobody else is in this group/);
  assert.doesNotMatch(await alice.locator('.preview').innerText(), /null|undefined/);
  await shot(alice, '04-new-request');
  await alice.getByRole('button', { name: 'Sign and submit' }).click();
  await alice.waitForURL(/#\/request\/r-/);
  const first = decodeURIComponent(alice.url().split('#/request/')[1]);
  await alice.getByText('Verified here').waitFor();

  log('XSS: the justification shows as text and runs nothing');
  const shown = await alice.locator('blockquote.justification').innerText();
  assert.equal(shown, xss);
  assert.equal(await alice.evaluate(() => window.__xss), undefined);
  assert.equal(await alice.locator('main script, main img').count(), 0);

  log('alice cannot approve her own request');
  assert.match(await approveRefusal(alice), /self_approval/);
  assert.equal(await alice.getByRole('button', { name: 'Approve' }).isDisabled(), true);
  await shot(alice, '05-request-detail-requester');

  log('bob sees it under All requests but cannot approve: he is not in device-approvers');
  await visit(bob, `#/requests?view=all`);
  await bob.locator(`tr[data-id="${first}"]`).waitFor();
  assert.equal(await bob.locator('#tab-received .count').innerText(), '0');
  await shot(bob, '06-requests-all');
  await bob.locator(`a[href="#/request/${first}"]`).click();
  await bob.getByText('Verified here').waitFor();
  assert.match(await approveRefusal(bob), /not_an_approver/);
  assert.match(await approveRefusal(bob), /device-approvers/);

  log('the API refuses bob too, even with a valid signature made in his browser');
  const refused = await bob.evaluate(async (id) => {
    const { currentSession, api } = await import('/ui/api.js');
    const { signDetached, headers, nowSeconds } = await import('/ui/crypto.js');
    const me = currentSession();
    const r = await api('GET', `/api/v1/requests/${id}`);
    const sig = await signDetached(me.key, headers.approver(me.kid, nowSeconds()), r.payload);
    try { await api('POST', `/api/v1/requests/${id}/approve`, { ...sig, notes: 'trying anyway' }); return 'accepted'; } catch (e) { return e.error; }
  }, first);
  assert.equal(refused, 'not_an_approver');

  log('dave has no key file: he creates a key in his browser, which cannot sign in before a bundle lists it');
  const ctxD = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  const dave = await ctxD.newPage();
  openPages.push(['dave', dave]);
  dave.on('pageerror', (e) => pageErrors.push(`dave: ${e.message}`));
  await dave.goto(`${base}/`);
  await dave.getByLabel('Your id in the bundle').fill('dave');
  await dave.getByRole('button', { name: 'Create a key in this browser' }).click();
  const davePub = (await dave.locator('#new-public-key').innerText()).trim();
  assert.deepEqual(Object.keys(JSON.parse(davePub)), ['id', 'kid', 'x']);
  assert.equal(JSON.parse(davePub).id, 'dave');
  const daveKey = await dave.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('keyturn-console', 1);
    open.onsuccess = () => {
      const get = open.result.transaction('keys').objectStore('keys').get('dave');
      get.onsuccess = () => resolve({ extractable: get.result.key.extractable, type: get.result.key.type, generated: get.result.generated });
      get.onerror = () => reject(get.error);
    };
  }));
  assert.deepEqual(daveKey, { extractable: false, type: 'private', generated: true });
  await shot(dave, '07a-key-created-in-browser');
  await dave.getByRole('button', { name: 'Sign in as dave' }).click();
  await dave.getByRole('alert').filter({ hasText: 'unknown_key' }).waitFor();

  log('alice proposes adding bob to device-approvers and dave (his browser key) to auditors; the review shows the diff');
  await visit(alice, `#/policies`);
  await alice.locator('#policies .tok-keyword').first().waitFor();
  await shot(alice, '07-access-policies');
  await alice.getByRole('link', { name: 'Propose a change' }).click();
  await alice.getByLabel('Groups of bob').fill('maa-admins, device-approvers');
  // A key whose "x" no longer matches its "kid": the first character of x changed (to
  // 'B' when it already was 'A', which made the test fail once in 64 runs).
  const tamperedPub = davePub.replace(/"x":"(.)/, (_, c) => `"x":"${c === 'A' ? 'B' : 'A'}`);
  assert.notEqual(tamperedPub, davePub);
  await alice.getByLabel('Public key (NAME.pub.json)').fill(tamperedPub);
  await alice.getByRole('button', { name: 'Review the change' }).click();
  await alice.getByRole('alert').filter({ hasText: /"kid" is not the thumbprint of "x"|"x" is not/ }).waitFor();
  await alice.getByLabel('Public key (NAME.pub.json)').fill(davePub);
  await alice.getByRole('button', { name: 'Review the change' }).click();
  await alice.getByRole('alert').filter({ hasText: 'groups of the new principal dave: at least one' }).waitFor();
  await alice.getByLabel('Groups of a new principal').fill('auditors');
  await alice.getByRole('button', { name: 'Review the change' }).click();
  assert.match(await alice.locator('#review').innerText(), /bob joins device-approvers/);
  assert.match(await alice.locator('#review').innerText(), /dave is added with key .*, groups auditors/);
  await alice.getByLabel('Justification (required)').fill('Bob covers device approvals this quarter');
  await shot(alice, '08-propose-change');
  await alice.getByRole('button', { name: 'Sign and propose' }).click();
  await alice.waitForURL(/#\/request\//);
  const proposal = decodeURIComponent(alice.url().split('#/request/')[1]);
  await alice.getByText('Verified here').waitFor();
  assert.match(await approveRefusal(alice), /self_approval/);

  log('bob receives the proposal, sees the diff, approves with notes; alice publishes it');
  await visit(bob, `#/requests?view=received`);
  assert.equal(await bob.locator('#tab-received .count').innerText(), '1');
  await bob.locator(`a[href="#/request/${proposal}"]`).click();
  await bob.getByText('Verified here').waitFor();
  assert.match(await bob.locator('main').innerText(), /groups added: device-approvers/);
  assert.match(await bob.locator('main').innerText(), /dave added/);
  assert.match(await bob.locator('#examples-summary').innerText(),
    /^2 example request\(s\) evaluated from .*policy-examples; 0 would need something different\.$/);
  await bob.getByText('No saved example request changes its requirement.').waitFor();
  await shot(bob, '09-proposal-detail');
  await bob.getByLabel(/^Notes/).fill('Agreed in the team meeting');
  await bob.getByRole('button', { name: 'Approve and sign the bundle' }).click();
  await bob.locator('.badge.state-approved').first().waitFor();
  await visit(alice, null);
  await alice.getByRole('button', { name: 'Publish the bundle' }).click();
  await alice.locator('.page-head .badge.state-completed').waitFor();
  log('dave signs in with the key his browser made, now that bundle v2 lists it');
  await dave.reload();
  await dave.getByRole('button', { name: 'Sign in as dave' }).click();
  await dave.locator('#whoami').filter({ hasText: 'dave' }).waitFor();
  const health = (await call(port, 'GET', '/healthz')).json();
  assert.equal(health.bundle_version, 2);

  log('the first request was made under v1: stale for bob; alice cancels it and asks again');
  await openRequest(bob, first);
  assert.match(await approveRefusal(bob), /bundle_stale/);
  await openRequest(alice, first);
  alice.once('dialog', (d) => d.accept());
  await alice.getByRole('button', { name: 'Cancel request' }).click();
  await alice.locator('.page-head .badge.state-cancelled').waitFor();
  await newWipe('Stolen from the Leeds office; ticket 4711');
  assert.match(await alice.locator('#preview-requirements').innerText(), /can approve: bob/);
  await alice.getByRole('button', { name: 'Sign and submit' }).click();
  await alice.waitForURL(/#\/request\/r-/);
  const wipe = decodeURIComponent(alice.url().split('#/request/')[1]);
  await alice.getByText('Verified here').waitFor();
  assert.match(await alice.locator('.action-row', { has: alice.locator('button:has-text("Complete")') }).innerText(), /not_approved/);

  log('bob approves with notes: notes are required');
  await visit(bob, `#/requests?view=received`);
  await bob.locator(`a[href="#/request/${wipe}"]`).click();
  await bob.getByText('Verified here').waitFor();
  await bob.getByRole('button', { name: 'Approve and sign' }).click();
  assert.equal(await bob.getByLabel(/^Notes/).evaluate((el) => el.validity.valid), false);
  assert.equal(await bob.locator('.page-head .badge').innerText(), 'needs approval');
  await bob.getByLabel(/^Notes/).fill('Checked with the owner');
  await bob.getByRole('button', { name: 'Approve and sign' }).click();
  await bob.locator('.page-head .badge.state-approved').waitFor();
  assert.match(await bob.locator('ul.decisions').innerText(), /bob approved[\s\S]*Checked with the owner/);
  assert.match(await bob.locator('.action-row', { has: bob.locator('button:has-text("Complete")') }).innerText(), /not_requester/);
  await shot(bob, '10-request-approved');

  log('alice completes: the device gets its token and reports the result');
  await visit(alice, null);
  await alice.getByRole('button', { name: 'Complete and issue tokens' }).click();
  await alice.locator('.page-head .badge.state-completed').waitFor();
  const tokens = await call(port, 'GET', '/api/v1/agent/tokens?wait=5', { device });
  assert.equal(tokens.status, 200, tokens.text);
  const token = tokens.json().tokens.find((t) => JSON.parse(Buffer.from(t.payload, 'base64url')).id === wipe);
  assert.ok(token, 'the token for the wipe was delivered');
  fs.writeFileSync(path.join(work, 'token.json'), JSON.stringify(token));
  const result = await call(port, 'POST', '/api/v1/agent/results', {
    device, body: { results: [{ request: wipe, state: 'succeeded', exit_code: 0, output: 'wiped <b>3</b> volumes', at: Math.floor(Date.now() / 1000) }] },
  });
  assert.equal(result.status, 200, result.text);
  await visit(alice, null);
  const row = alice.locator('#targets tr[data-device="laptop-17"]');
  await row.locator('.badge.state-succeeded').first().waitFor();
  assert.match(await row.innerText(), /exit code 0[\s\S]*wiped <b>3<\/b> volumes/);
  await shot(alice, '11-request-completed');

  log('the token made through the browser is accepted by keyturn-agent verify and by jose');
  fs.copyFileSync(path.join(work, 'data/bundles/v2.json'), path.join(work, 'bundle-v2.json'));
  run(agentBin, ['trust', 'init', '--state', 'agent', '--bundle', 'bundle-v1.json']);
  run(agentBin, ['trust', 'update', '--state', 'agent', '--bundle', 'bundle-v2.json']);
  write('facts.json', JSON.stringify({ id: 'laptop-17', ownership: 'corporate' }));
  const verdict = JSON.parse(run(agentBin, ['verify', '--state', 'agent', '--token', 'token.json', '--facts', 'facts.json']));
  assert.equal(verdict.decision, 'accept', JSON.stringify(verdict));
  assert.deepEqual(verdict.approvers, ['bob']);
  write('other.json', JSON.stringify({ id: 'laptop-18' }));
  let other = null;
  try { run(agentBin, ['verify', '--state', 'agent', '--token', 'token.json', '--facts', 'other.json']); } catch (e) { other = JSON.parse(e.stdout); }
  assert.equal(other && other.reason, 'wrong_device');
  const interop = path.join(here, '../interop/interop.mjs');
  console.log(run(process.execPath, [interop, 'verify-each', 'token.json', 'bundle-v2.json']).trim());

  log('CSRF: another origin cannot act with the console\'s credentials');
  const evil = await ctxA.newPage();
  // Another site (its own origin, no CSP of ours): a plain page served from node.
  const site = http.createServer((req, res) => { res.setHeader('Content-Type', 'text/html'); res.end('<!doctype html><title>elsewhere</title><body>elsewhere</body>'); });
  await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve));
  await evil.goto(`http://127.0.0.1:${site.address().port}/`);
  const attempts = await evil.evaluate(async ({ target, id }) => {
    const outcomes = [];
    try {
      await fetch(`${target}/api/v1/requests/${id}/cancel`, { method: 'POST', credentials: 'include', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      outcomes.push('json-post-sent');
    } catch (e) { outcomes.push('json-post-blocked'); }
    try {
      const r = await fetch(`${target}/api/v1/requests/${id}/cancel`, { method: 'POST', mode: 'no-cors', credentials: 'include', body: 'x' });
      outcomes.push(`simple-post-${r.type}`);
    } catch (e) { outcomes.push('simple-post-blocked'); }
    try {
      await fetch(`${target}/api/v1/requests?view=all`, { credentials: 'include' });
      outcomes.push('read-allowed');
    } catch (e) { outcomes.push('read-blocked'); }
    return outcomes;
  }, { target: base, id: wipe });
  // A JSON POST needs a CORS preflight the API never grants; a "simple" POST is sent
  // (its answer is hidden from the page: opaque, or blocked by
  // Cross-Origin-Resource-Policy) and refused 401 below; a read is never readable.
  assert.equal(attempts[0], 'json-post-blocked');
  assert.ok(['simple-post-opaque', 'simple-post-blocked'].includes(attempts[1]), attempts[1]);
  assert.equal(attempts[2], 'read-blocked');
  // frame-ancestors 'none': the console never renders inside another site's frame.
  await evil.evaluate((target) => new Promise((resolve) => {
    const f = document.createElement('iframe');
    f.src = `${target}/`;
    f.onload = resolve;
    f.onerror = resolve;
    document.body.append(f);
    setTimeout(resolve, 3000);
  }), base);
  const framed = evil.frames().find((f) => f !== evil.mainFrame());
  assert.ok(framed, 'the frame exists');
  assert.equal(await framed.locator('#app').count(), 0, `the console rendered inside a frame (${framed.url()})`);
  await visit(alice, null);
  await alice.locator('.page-head .badge.state-completed').waitFor();
  assert.match(serverLog, /"path":"\/api\/v1\/requests\/[^"]+\/cancel","status":401/);
  await evil.close();
  site.close();

  log('audit log: chain verified, filter, export');
  await visit(alice, `#/audit`);
  await alice.getByText('Chain intact').waitFor();
  await alice.locator('#audit').getByText('request.approved').first().waitFor();
  await shot(alice, '12-audit');
  const download = alice.waitForEvent('download');
  await alice.getByRole('button', { name: 'Export (JSON lines)' }).click();
  const saved = path.join(work, 'audit.jsonl');
  await (await download).saveAs(saved);
  // Exit 0 only when every link of the exported chain recomputes.
  console.log(run(keyturn, ['audit', 'verify', '--file', saved]).trim());
  // The filter is the coordinator's, over the whole log, not a filter of the page shown.
  const filtered = alice.waitForRequest((r) => /\/api\/v1\/audit\?.*event=request\.approved/.test(r.url()));
  await visit(alice, `#/audit?event=request.approved`);
  await filtered;
  await alice.getByText(/recomputed the hash and link of all \d+ entries/).waitFor();
  const events = await alice.locator('#audit tbody tr td:nth-child(4)').allInnerTexts();
  assert.ok(events.length > 0 && events.every((e) => e === 'request.approved'), events.join(','));

  log('requests list with filters and counts; narrow window');
  await visit(alice, `#/requests?view=mine&device=laptop-17`);
  await alice.locator(`tr[data-id="${wipe}"]`).waitFor();
  await shot(alice, '13-requests-mine');
  await visit(alice, `#/requests?view=mine&device=laptop-404`);
  await alice.getByText('You have no requests here').waitFor();
  await visit(alice, `#/requests?view=mine&state=completed`);
  await alice.locator(`tr[data-id="${wipe}"]`).waitFor();
  assert.equal(await alice.locator(`tr[data-id="${first}"]`).count(), 0);
  await alice.setViewportSize({ width: 390, height: 800 });
  await openRequest(alice, wipe);
  await alice.getByText('Verified here').waitFor();
  const overflow = await alice.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px on a narrow window`);
  await shot(alice, '14-request-detail-narrow');
  await alice.setViewportSize({ width: 1280, height: 800 });

  log('keyboard: tabs move with the arrow keys and focus is visible');
  await visit(alice, `#/requests?view=mine`);
  await alice.locator('#tab-mine').focus();
  await alice.keyboard.press('ArrowRight');
  await alice.waitForURL(/view=received/);
  // The page is drawn again for the new view; the keyboard focus stays on the selected
  // tab (not sent to the heading) and is visible.
  await alice.locator('#tab-received[aria-selected="true"]:focus').waitFor();
  const outline = await alice.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none');

  log('expiry notice: a request close to its end says so');
  {
    const soon = await alice.evaluate(async () => {
      const { currentSession, api } = await import('/ui/api.js');
      const c = await import('/ui/crypto.js');
      const me = currentSession();
      const tree = await c.merkleRoot(['laptop-17']);
      const created = c.nowSeconds();
      const bundle = JSON.parse(new TextDecoder().decode(c.fromB64u((await api('GET', '/api/v1/bundle')).payload)));
      const payload = c.b64uJson({
        kt: 'request/1', tenant: me.tenant, id: c.randomRequestId(), action: 'device.retire', params: {},
        targets: { count: 1, root: c.b64u(tree.root) }, requester: me.principal, justification: 'short-lived',
        created, expires: created + 3600, bundle: bundle.version,
      });
      const sig = await c.signDetached(me.key, c.headers.requester(me.kid, created), payload);
      return (await api('POST', '/api/v1/requests', { token: { payload, signatures: [sig] }, targets: ['laptop-17'] })).id;
    });
    await openRequest(alice, soon);
    await alice.getByText('Expires soon').waitFor();
    await visit(alice, `#/requests`);
    await alice.locator(`tr[data-id="${soon}"] .warn-text`).waitFor();
  }
  assert.deepEqual(pageErrors, [], 'no script error in the pages');
  console.log(`ok: screenshots in ${out}`);
}

let failed = false;
try {
  await main();
} catch (e) {
  failed = true;
  console.error(`FAIL at "${step}": ${e.stack || e}`);
  for (const [who, p] of openPages) await p.screenshot({ path: path.join(out, `failure-${who}.png`), fullPage: true }).catch(() => {});
  console.error(`page errors: ${pageErrors.join('\n') || 'none'}`);
  console.error(`server log (last 4000 characters):\n${serverLog.slice(-4000)}`);
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server && server.exitCode === null) server.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
