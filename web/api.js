// The coordinator's REST API (docs/openapi.yaml) with the session kept in memory
// only: a bearer token from the Ed25519 challenge–response, never in a cookie or in
// storage, so a forged cross-site request carries no credential (no CSRF).

let session = null; // {token, principal, expires, tenant}
let renew = null;   // async () => session: signs in again with the stored key

export class ApiError extends Error {
  constructor(status, error, detail) {
    super(`${error}: ${detail}`);
    this.status = status;
    this.error = error;
    this.detail = detail;
  }
}

export const currentSession = () => session;
export function setSession(s) { session = s; }
export function setRenewer(fn) { renew = fn; }

async function raw(method, path, body, token) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, credentials: 'omit', cache: 'no-store', redirect: 'error' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return fetch(path, init);
}

async function decode(res) {
  const type = res.headers.get('Content-Type') || '';
  if (!type.startsWith('application/json')) {
    if (!res.ok) throw new ApiError(res.status, 'http_error', `HTTP ${res.status}`);
    return res;
  }
  const data = await res.json();
  if (!res.ok) throw new ApiError(res.status, data.error || 'http_error', data.detail || `HTTP ${res.status}`);
  return data;
}

// An authenticated call; a 401 (expired session, server restart) signs in again once
// with the stored key, as the CLI does.
export async function api(method, path, body) {
  if (!session) throw new ApiError(401, 'unauthenticated', 'not signed in');
  let res = await raw(method, path, body, session.token);
  if (res.status === 401 && renew) {
    await renew();
    res = await raw(method, path, body, session.token);
  }
  return decode(res);
}

// An unauthenticated call (login).
export async function publicApi(method, path, body) {
  return decode(await raw(method, path, body, null));
}

// A raw authenticated response (the audit export).
export async function apiRaw(method, path) {
  const res = await raw(method, path, undefined, session && session.token);
  if (!res.ok) return decode(res);
  return res;
}
