// The Keyturn web console: a hash router, the page frame and sign-in.
import { currentSession } from './api.js';
import { errorNotice, go } from './ui.js';
import {
  PRINCIPAL_ID, forgetKey, generateKey, importKeyFile, publicKeyFile, saveKey, storedKey, storedKeys, webCryptoEd25519Available,
} from './crypto.js';
import { clear, field, h, notice, timeEl } from './dom.js';
import { signIn, signOut } from './session.js';
import * as requests from './pages/requests.js';
import * as detail from './pages/request_detail.js';
import * as newRequest from './pages/new_request.js';
import * as policies from './pages/policies.js';
import * as devices from './pages/devices.js';
import * as audit from './pages/audit.js';

const routes = [
  { re: /^\/requests\/new$/, page: newRequest, nav: 'requests', title: 'New request' },
  { re: /^\/requests$/, page: requests, nav: 'requests', title: 'Requests' },
  { re: /^\/request\/([^/]+)$/, page: detail, nav: 'requests', title: 'Request' },
  { re: /^\/policies\/propose$/, page: policies, nav: 'policies', title: 'Propose a change', mode: 'propose' },
  { re: /^\/policies$/, page: policies, nav: 'policies', title: 'Access policies' },
  { re: /^\/devices\/([^/]+)$/, page: devices, nav: 'devices', title: 'Device' },
  { re: /^\/devices$/, page: devices, nav: 'devices', title: 'Devices' },
  { re: /^\/audit$/, page: audit, nav: 'audit', title: 'Audit log' },
];

const nav = [
  ['requests', 'Requests', '#/requests'],
  ['policies', 'Access policies', '#/policies'],
  ['devices', 'Devices', '#/devices'],
  ['audit', 'Audit log', '#/audit'],
];


function frame(active) {
  const s = currentSession();
  const header = h('header', { class: 'top' },
    h('a', { class: 'brand', href: '#/requests' }, 'Keyturn'),
    s ? h('nav', { 'aria-label': 'Main' }, h('ul', {}, nav.map(([key, label, href]) => h('li', {},
      h('a', { href, 'aria-current': key === active ? 'page' : null }, label))))) : null,
    s ? h('div', { class: 'who' },
      h('span', {}, 'Signed in as ', h('strong', { id: 'whoami' }, s.principal), ' (', s.tenant, ')'),
      h('button', { type: 'button', class: 'link', onclick: async () => { await signOut(); go('#/signin'); } }, 'Sign out'))
      : null);
  const main = h('main', { id: 'main', tabindex: '-1' });
  const root = document.getElementById('app');
  clear(root);
  root.append(h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); main.focus(); } }, 'Skip to content'),
    header, main);
  return main;
}

async function signInPage(main, message) {
  document.title = 'Sign in · Keyturn';
  main.append(h('h1', {}, 'Sign in'));
  if (message) main.append(message);
  if (!webCryptoEd25519Available()) {
    main.append(notice('error', 'This browser has no WebCrypto here (the console needs HTTPS and a browser with Ed25519 in WebCrypto, such as Chromium 137 or later).'));
    return;
  }
  const status = h('div', { 'aria-live': 'polite' });
  let keys = [];
  try { keys = await storedKeys(); } catch (e) { status.append(errorNotice(e)); }
  if (keys.length) {
    main.append(h('section', { 'aria-labelledby': 'stored-h' },
      h('h2', { id: 'stored-h' }, 'Keys in this browser'),
      h('ul', { class: 'keys' }, keys.map((k) => h('li', {},
        h('button', {
          type: 'button', class: 'primary', 'data-principal': k.principal,
          onclick: async (e) => {
            e.target.disabled = true;
            clear(status);
            try {
              await signIn(k);
              go(sessionStorage.getItem('keyturn.after') || '#/requests');
            } catch (err) { status.append(errorNotice(err)); e.target.disabled = false; }
          },
        }, `Sign in as ${k.principal}`),
        h('span', { class: 'muted' }, ` key ${k.kid.slice(0, 12)}…, ${k.generated ? 'created in this browser' : 'imported'} `, timeEl(k.added)),
        h('details', { class: 'public-key' }, h('summary', {}, 'Public key'),
          h('pre', { class: 'wrap', tabindex: '0' }, publicKeyFile(k.principal, k))),
        h('button', {
          type: 'button', class: 'link',
          onclick: async () => {
            const warning = k.generated
              ? `Remove ${k.principal}'s key from this browser? It was created here and exists nowhere else: it is gone for good, and an admin must remove its public key from the bundle.`
              : `Remove ${k.principal}'s key from this browser? You will need the key file to import it again.`;
            if (!window.confirm(warning)) return;
            await forgetKey(k.principal);
            route();
          },
        }, 'Remove key'))))));
  }
  const principal = h('input', { name: 'principal', required: true, autocomplete: 'username', pattern: '[A-Za-z0-9._@\\-]{1,64}' });
  const file = h('input', { type: 'file', name: 'keyfile', required: true, accept: '.key,.pem,application/x-pem-file' });
  const form = h('form', { class: 'card' },
    h('h2', {}, keys.length ? 'Import another key' : 'Import your key'),
    h('p', {}, 'Choose the key file made by ', h('code', {}, 'keyturn key new --id NAME'), ' (NAME.key). It is imported once into this browser as a non-extractable key: pages can sign with it, nothing can read it back, and it is never sent to the server.'),
    field('Principal id', principal, 'Your id in the trust bundle, e.g. alice'),
    field('Key file', file),
    h('button', { type: 'submit', class: 'primary' }, 'Import and sign in'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(status);
    try {
      const f = file.files[0];
      if (!f) throw new Error('choose the key file');
      if (f.size > 16384) throw new Error('this file is too large to be an Ed25519 key file');
      const imported = await importKeyFile(await f.text());
      const record = { principal: principal.value.trim(), kid: imported.kid, x: imported.x, key: imported.key, added: Math.floor(Date.now() / 1000) };
      await signIn(record); // proves the key belongs to that principal before keeping it
      await saveKey(record);
      go(sessionStorage.getItem('keyturn.after') || '#/requests');
    } catch (err) { status.append(errorNotice(err)); }
  });
  main.append(status, form, generateForm(main, status));
}

// For an admin without a key file: a key made here, kept only in this browser, whose
// public half an admin of the bundle's update group adds through a bundle change.
function generateForm(main, status) {
  const principal = h('input', { name: 'new-key-principal', required: true, pattern: '[A-Za-z0-9._@\\-]{1,64}' });
  const form = h('form', { class: 'card', id: 'generate-key' },
    h('h2', {}, 'No key file? Create a key in this browser'),
    h('p', {}, 'The private key is made inside this browser and can never be read out, not even by you: you can only sign in from this browser profile. '
      + 'You get its public key to send to an admin, who adds it to the trust bundle (Access policies, Propose a change); once that change is approved and published, sign in with it here.'),
    field('Your id in the bundle', principal, 'e.g. dave'),
    h('button', { type: 'submit' }, 'Create a key in this browser'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(status);
    try {
      const id = principal.value.trim();
      if (!PRINCIPAL_ID.test(id)) throw new Error('id: letters, digits and . _ @ - only, at most 64');
      if (await storedKey(id)) throw new Error(`this browser already keeps a key for ${id}; remove it first`);
      const made = await generateKey();
      const record = { principal: id, kid: made.kid, x: made.x, key: made.key, added: Math.floor(Date.now() / 1000), generated: true };
      await saveKey(record);
      const text = publicKeyFile(id, record);
      const download = h('a', { class: 'button', download: `${id}.pub.json`, href: URL.createObjectURL(new Blob([text], { type: 'application/json' })) }, `Download ${id}.pub.json`);
      clear(main);
      await signInPage(main, notice('ok', h('strong', {}, `A key for ${id} was created in this browser. `),
        'Send this public key to an admin of the update group; it is not a secret:',
        h('pre', { id: 'new-public-key', class: 'wrap', tabindex: '0' }, text), download));
    } catch (err) { status.append(errorNotice(err)); }
  });
  return form;
}

export async function route() {
  const hash = location.hash.replace(/^#/, '') || '/requests';
  const [path, query] = hash.split('?');
  const params = new URLSearchParams(query || '');
  if (path === '/signin' || !currentSession()) {
    if (path !== '/signin') sessionStorage.setItem('keyturn.after', `#${hash}`);
    const main = frame(null);
    await signInPage(main, path === '/signin' ? null : notice('info', 'Sign in to continue.'));
    return;
  }
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    const main = frame(r.nav);
    document.title = `${r.title} · Keyturn`;
    try {
      await r.page.render(main, { params, arg: m[1] ? decodeURIComponent(m[1]) : null, mode: r.mode, route });
    } catch (e) {
      main.append(errorNotice(e));
    }
    const heading = main.querySelector('h1');
    if (heading && !main.contains(document.activeElement)) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
    return;
  }
  const main = frame(null);
  main.append(h('h1', {}, 'Not found'), h('p', {}, 'No page here. ', h('a', { href: '#/requests' }, 'Go to requests')));
}

window.addEventListener('hashchange', route);
route();
