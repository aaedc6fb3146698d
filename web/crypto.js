// Everything the console signs or checks, made in the browser with WebCrypto:
// base64url, SHA-256, the RFC 6962 Merkle root of a target list, the admin's
// Ed25519 key (imported once from the PKCS#8 file of `keyturn key new`, kept in
// IndexedDB as a NON-extractable CryptoKey) and JWS signatures byte for byte in
// the format of PROTOCOL.md (signing input = protected "." payload, as ASCII).
// The private key never leaves WebCrypto; the server never sees it.

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export const utf8 = (s) => enc.encode(s);
export const fromUtf8 = (bytes) => dec.decode(bytes);

export function b64u(bytes) {
  let s = '';
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// Strict RFC 4648 §5 without padding, as the spec reads it.
export function fromB64u(s) {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) {
    throw new Error('malformed base64url');
  }
  const pad = s.length % 4 === 0 ? '' : '='.repeat(4 - (s.length % 4));
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + pad);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  if (b64u(out) !== s) throw new Error('malformed base64url (non-zero unused bits)');
  return out;
}

export const b64uJson = (obj) => b64u(utf8(JSON.stringify(obj)));
export const parseB64uJson = (s) => JSON.parse(fromUtf8(fromB64u(s)));

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

export const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// Device ids in ascending byte order (UTF-8), refusing duplicates and empty ids:
// the order of the Merkle leaves.
export function canonicalTargets(ids) {
  const items = ids.map((id) => ({ id, bytes: utf8(id) }));
  items.sort((x, y) => compareBytes(x.bytes, y.bytes));
  for (let i = 0; i < items.length; i++) {
    if (items[i].id.length === 0) throw new Error('an empty device id');
    if (i > 0 && compareBytes(items[i - 1].bytes, items[i].bytes) === 0) {
      throw new Error(`device ${items[i].id} is listed twice`);
    }
  }
  return items;
}

// RFC 6962 §2.1 Merkle Tree Hash: leaf = SHA-256(0x00 ‖ id), node = SHA-256(0x01 ‖ l ‖ r),
// split at the largest power of two smaller than n.
export async function merkleRoot(ids) {
  const items = canonicalTargets(ids);
  if (items.length === 0) throw new Error('no targets');
  let level = [];
  for (const it of items) level.push(await sha256(concat(new Uint8Array([0]), it.bytes)));
  async function mth(lo, hi) {
    const n = hi - lo;
    if (n === 1) return level[lo];
    let k = 1;
    while (k * 2 < n) k *= 2;
    const left = await mth(lo, lo + k);
    const right = await mth(lo + k, hi);
    return sha256(concat(new Uint8Array([1]), left, right));
  }
  return { root: await mth(0, level.length), count: items.length, sorted: items.map((i) => i.id) };
}

// RFC 7638 thumbprint of the OKP key: the kid of the spec.
export async function thumbprint(x) {
  const canonical = `{"crv":"Ed25519","kty":"OKP","x":"${x}"}`;
  return b64u(await sha256(utf8(canonical)));
}

function pemToDer(text) {
  const m = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(text);
  if (!m) {
    throw new Error('not a PKCS#8 PEM private key (the .key file made by `keyturn key new`)');
  }
  const bin = atob(m[1].replace(/\s+/g, ''));
  const der = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) der[i] = bin.charCodeAt(i);
  return der;
}

export function webCryptoEd25519Available() {
  return !!(globalThis.crypto && crypto.subtle && globalThis.isSecureContext);
}

// Imports the key file once. The public key (needed for the kid) is read from a
// short-lived extractable import that is dropped at once; the key kept is a second,
// non-extractable import of the same bytes, usable only to sign.
export async function importKeyFile(pemText) {
  const der = pemToDer(pemText);
  let x;
  {
    const temporary = await crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, true, ['sign']);
    const jwk = await crypto.subtle.exportKey('jwk', temporary);
    x = jwk.x;
  }
  const key = await crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, false, ['sign']);
  der.fill(0);
  if (key.extractable) throw new Error('the browser made the key extractable; refusing to keep it');
  return { key, x, kid: await thumbprint(x) };
}

// A key made in this browser, for an admin without a key file: the private half is
// non-extractable from birth (never exported, not even once); the public half — always
// readable in WebCrypto — goes into the trust bundle through a bundle change.
export async function generateKey() {
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
  if (pair.privateKey.extractable) throw new Error('the browser made the key extractable; refusing to keep it');
  const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
  return { key: pair.privateKey, x: jwk.x, kid: await thumbprint(jwk.x) };
}

// A principal id as PROTOCOL.md §3 allows it.
export const PRINCIPAL_ID = /^[A-Za-z0-9._@-]{1,64}$/;

// The public key as `keyturn key new` writes ID.pub.json, which is what a roster lists.
export const publicKeyFile = (principal, rec) => JSON.stringify({ id: principal, kid: rec.kid, x: rec.x });

// Reads a pasted ID.pub.json, checking what a bundle would: the id's form, a 32-byte
// Ed25519 key, and a kid that is the RFC 7638 thumbprint of that key.
export async function parsePublicKeyFile(text) {
  let v;
  try { v = JSON.parse(text); } catch (e) { throw new Error('public key: not JSON (paste the NAME.pub.json file)'); }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('public key: expected {"id","kid","x"}');
  for (const k of Object.keys(v)) if (!['id', 'kid', 'x'].includes(k)) throw new Error(`public key: unknown member "${k}"`);
  if (typeof v.id !== 'string' || !PRINCIPAL_ID.test(v.id)) throw new Error('public key: "id" must match [A-Za-z0-9._@-]{1,64}');
  let raw;
  try { raw = fromB64u(v.x); } catch (e) { throw new Error('public key: "x" is not base64url'); }
  if (raw.length !== 32) throw new Error('public key: "x" is not a 32-byte Ed25519 key');
  const kid = await thumbprint(v.x);
  if (v.kid !== kid) throw new Error('public key: "kid" is not the thumbprint of "x" (the file was altered)');
  return { id: v.id, kid, x: v.x };
}

// --- IndexedDB: one record per principal {principal, kid, x, key, added}.
const DB = 'keyturn-console';
const STORE = 'keys';

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'principal' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const result = fn(t.objectStore(STORE));
      t.oncomplete = () => resolve(result.result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  } finally {
    db.close();
  }
}

export const storedKeys = () => tx('readonly', (s) => s.getAll());
export const storedKey = (principal) => tx('readonly', (s) => s.get(principal));
export const saveKey = (record) => tx('readwrite', (s) => s.put(record));
export const forgetKey = (principal) => tx('readwrite', (s) => s.delete(principal));

// One detached signature over `payloadB64` with `header` (an object whose member
// order is the one core writes).
export async function signDetached(key, header, payloadB64) {
  const protectedB64 = b64uJson(header);
  const input = utf8(`${protectedB64}.${payloadB64}`);
  const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key, input));
  if (sig.length !== 64) throw new Error('WebCrypto returned a signature that is not 64 bytes');
  return { protected: protectedB64, signature: b64u(sig) };
}

// The protected headers of PROTOCOL.md §2-4, member order as core writes them.
export const headers = {
  login: (kid, at) => ({ alg: 'EdDSA', kid, 'kt.role': 'login', 'kt.at': at }),
  requester: (kid, at) => ({ alg: 'EdDSA', kid, 'kt.role': 'requester', 'kt.at': at }),
  approver: (kid, at) => ({ alg: 'EdDSA', kid, 'kt.role': 'approver', 'kt.at': at, 'kt.decision': 'approve' }),
  completer: (kid, at) => ({ alg: 'EdDSA', kid, 'kt.role': 'completer', 'kt.at': at }),
  bundle: (kid, at) => ({ alg: 'EdDSA', kid, 'kt.role': 'bundle', 'kt.at': at }),
};

export const nowSeconds = () => Math.floor(Date.now() / 1000);

// 96 random bits, as the CLI's request ids.
export function randomRequestId() {
  const b = new Uint8Array(12);
  crypto.getRandomValues(b);
  return `r-${b64u(b)}`;
}
