// Interoperability checks with jose, a JOSE library no one on the team wrote.
//
//   node interop.mjs verify-each FILE BUNDLE   every signature entry of FILE (a token or
//                                               a bundle) must pass jose's flattenedVerify
//                                               with the key BUNDLE lists for its kid
//   node interop.mjs sign-token PLAN OUT       builds a token with jose's GeneralSign from
//                                               PLAN (JSON) and writes it to OUT
//
// Exit status 0 when everything holds, 1 otherwise.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as jose from 'jose';

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const fromB64u = (s) => Buffer.from(s, 'base64url');

function keysOf(bundleFile) {
  const bundle = JSON.parse(readFileSync(bundleFile, 'utf8'));
  const payload = JSON.parse(fromB64u(bundle.payload).toString('utf8'));
  const keys = new Map();
  for (const k of payload.issuers) keys.set(k.kid, k.x);
  for (const p of payload.principals) for (const k of p.keys) keys.set(k.kid, k.x);
  return keys;
}

async function thumbprint(x) {
  return jose.calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x }, 'sha256');
}

async function verifyEach(file, bundleFile) {
  const keys = keysOf(bundleFile);
  const jws = JSON.parse(readFileSync(file, 'utf8'));
  let failures = 0;
  for (const [i, entry] of jws.signatures.entries()) {
    const header = JSON.parse(fromB64u(entry.protected).toString('utf8'));
    const x = keys.get(header.kid);
    if (!x) {
      console.log(`signature ${i}: kid ${header.kid} not in the bundle`);
      failures++;
      continue;
    }
    if ((await thumbprint(x)) !== header.kid) {
      console.log(`signature ${i}: kid is not the RFC 7638 thumbprint of its key`);
      failures++;
      continue;
    }
    const key = await jose.importJWK({ kty: 'OKP', crv: 'Ed25519', x }, 'EdDSA');
    try {
      await jose.flattenedVerify(
        { protected: entry.protected, payload: jws.payload, signature: entry.signature }, key,
        { algorithms: ['EdDSA'] });
      console.log(`signature ${i} (${header['kt.role']}): verified by jose`);
    } catch (e) {
      console.log(`signature ${i} (${header['kt.role']}): jose refused: ${e.code || e.message}`);
      failures++;
    }
  }
  return failures === 0;
}

// RFC 6962 section 2.1, written independently of the C++ code.
const leaf = (id) => createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(id, 'utf8')])).digest();
const node = (l, r) => createHash('sha256').update(Buffer.concat([Buffer.from([1]), l, r])).digest();
function mth(ids) {
  if (ids.length === 1) return leaf(ids[0]);
  let k = 1;
  while (k * 2 < ids.length) k *= 2;
  return node(mth(ids.slice(0, k)), mth(ids.slice(k)));
}
function path(m, ids) {
  if (ids.length === 1) return [];
  let k = 1;
  while (k * 2 < ids.length) k *= 2;
  if (m < k) return [...path(m, ids.slice(0, k)), mth(ids.slice(k))];
  return [...path(m - k, ids.slice(k)), mth(ids.slice(0, k))];
}

async function signToken(planFile, out) {
  const plan = JSON.parse(readFileSync(planFile, 'utf8'));
  const targets = [...plan.targets].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const payload = {
    kt: 'request/1', tenant: plan.tenant, id: plan.id, action: plan.action, params: plan.params,
    targets: { count: targets.length, root: b64u(mth(targets)) },
    requester: plan.requester, justification: plan.justification,
    created: plan.created, expires: plan.expires, bundle: plan.bundle,
  };
  const sign = new jose.GeneralSign(new TextEncoder().encode(JSON.stringify(payload)));
  const add = async (pemFile, header) => {
    const pem = readFileSync(pemFile, 'utf8');
    const key = await jose.importPKCS8(pem, 'EdDSA');
    const jwk = await jose.exportJWK(key);
    const kid = await thumbprint(jwk.x);
    sign.addSignature(key).setProtectedHeader({ alg: 'EdDSA', kid, ...header });
  };
  await add(plan.requesterKey, { 'kt.role': 'requester', 'kt.at': plan.created + 1 });
  let at = plan.created + 2;
  for (const k of plan.approverKeys) await add(k, { 'kt.role': 'approver', 'kt.at': at++, 'kt.decision': 'approve' });
  await add(plan.requesterKey, { 'kt.role': 'completer', 'kt.at': at + 1 });
  const index = targets.indexOf(plan.device);
  await add(plan.issuerKey, {
    'kt.role': 'issuer', 'kt.at': plan.nbf, 'kt.device': plan.device, 'kt.index': index,
    'kt.proof': path(index, targets).map(b64u), 'kt.nbf': plan.nbf, 'kt.exp': plan.exp,
  });
  const jws = await sign.sign();
  writeFileSync(out, JSON.stringify(jws));
  console.log(`token for ${plan.device} signed by jose GeneralSign (${jws.signatures.length} signatures)`);
  return true;
}

const [cmd, a, b] = process.argv.slice(2);
let ok = false;
if (cmd === 'verify-each') ok = await verifyEach(a, b);
else if (cmd === 'sign-token') ok = await signToken(a, b);
else console.error('usage: node interop.mjs verify-each FILE BUNDLE | sign-token PLAN OUT');
process.exit(ok ? 0 : 1);
