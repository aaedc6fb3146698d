// Sign-in: the same challenge–response as `keyturn login` (docs/coordinator.md),
// signed in the browser with the stored non-extractable key.
import { ApiError, api, publicApi, setRenewer, setSession, currentSession } from './api.js';
import { b64uJson, headers, nowSeconds, parseB64uJson, signDetached, storedKey } from './crypto.js';

export async function signIn(record) {
  const ch = await publicApi('POST', '/api/v1/login/challenge', { principal: record.principal });
  // A careful tool signs only a challenge made for the host it is talking to, so a
  // login object cannot be relayed to another coordinator.
  const expected = `https://${location.hostname}`;
  if (ch.audience !== expected) {
    throw new ApiError(0, 'wrong_audience', `the server asks to sign for ${ch.audience}, but this page is ${expected}; `
      + 'open the console at the host name the coordinator was initialised with');
  }
  const payload = b64uJson({
    kt: 'login/1', tenant: ch.tenant, principal: record.principal, challenge: ch.challenge, audience: ch.audience,
  });
  const sig = await signDetached(record.key, headers.login(record.kid, nowSeconds()), payload);
  const s = await publicApi('POST', '/api/v1/login', { payload, signatures: [sig] });
  setSession({
    token: s.session, principal: s.principal, expires: s.expires, tenant: ch.tenant, kid: record.kid, key: record.key,
  });
  setRenewer(async () => {
    const again = await storedKey(record.principal);
    if (!again) throw new ApiError(401, 'unauthenticated', 'the key was removed from this browser');
    await signIn(again);
  });
  return currentSession();
}

export async function signOut() {
  try { await api('POST', '/api/v1/logout'); } catch (e) { /* the session may be gone already */ }
  setSession(null);
  setRenewer(null);
}

// The bundle in force (GET /api/v1/bundle), decoded: what every admin is held to.
export async function currentBundle() {
  const jws = await api('GET', '/api/v1/bundle');
  return { jws, payload: parseB64uJson(jws.payload) };
}

export function groupsOf(bundle, principal) {
  const p = bundle.payload.principals.find((x) => x.id === principal);
  return p ? p.groups : [];
}

export function hasRole(bundle, principal, role) {
  const groups = groupsOf(bundle, principal);
  const granted = (bundle.payload.roles || {})[role] || [];
  return granted.some((g) => groups.includes(g));
}
