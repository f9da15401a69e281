// api.js talks to the REST API. The CSRF token lives only in memory: a reload gets it
// again from GET /api/v1/me.

import { t } from './i18n.js';

let csrf = '';
let onUnauthorized = () => {};

export function setCSRF(token) { csrf = token || ''; }
// getCSRF returns the token, for requests that do not go through api (an upload with
// progress).
export function getCSRF() { return csrf; }
export function whenUnauthorized(fn) { onUnauthorized = fn; }

// A password change ends every session of the agent and answers with a new one for this
// browser. Meanwhile the socket is closed and its reconnect, or any other request, may
// be refused with the old cookie: such a 401 is no sign-out. rotateSession runs the
// change; a 401 of a request sent before it ended is then ignored (the socket retries).
let rotating = 0;
let sessionEpoch = 0;
export async function rotateSession(change) {
  rotating++;
  try {
    return await change();
  } finally {
    rotating--;
    sessionEpoch++;
  }
}

// APIError carries the API's error code and its message, which is safe to show.
export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// signInStep tells the requests made before there is a session (the password, the code
// of the authenticator app, an invitation link): their 401 is a wrong answer to show,
// not a session that ended.
const signInStep = (path) => path === '/api/v1/login' || path.startsWith('/api/v1/login/') ||
  path === '/api/v1/invitations/check' || path === '/api/v1/invitations/accept';

export async function api(method, path, body) {
  const epoch = sessionEpoch;
  const opt = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(body);
  }
  if (method !== 'GET' && csrf) opt.headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(path, opt);
  } catch {
    throw new APIError(0, 'network', t('api.unreachable'));
  }
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    const e = (data && data.error) || {};
    if (res.status === 401 && !signInStep(path) && !rotating && epoch === sessionEpoch) onUnauthorized();
    const err = new APIError(res.status, e.code || 'internal', e.message || t('api.failed', { status: res.status }));
    // A conflict may name what it conflicts with (an identity's customer).
    if (e.customer) err.customer = e.customer;
    throw err;
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);

// qs builds a query string from the non-empty values of params.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== '' && v != null) u.set(k, v);
  }
  const s = u.toString();
  return s ? '?' + s : '';
}
