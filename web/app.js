// The Keyturn web console: a hash router, the page frame and sign-in.
import { currentSession } from './api.js';
import { errorNotice, go } from './ui.js';
import { forgetKey, importKeyFile, saveKey, storedKeys, webCryptoEd25519Available } from './crypto.js';
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
        h('span', { class: 'muted' }, ` key ${k.kid.slice(0, 12)}…, imported `, timeEl(k.added)),
        h('button', {
          type: 'button', class: 'link',
          onclick: async () => {
            if (!window.confirm(`Remove ${k.principal}'s key from this browser? You will need the key file to import it again.`)) return;
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
  main.append(status, form);
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
