// The server's data paths, as the page's <meta name="pgcdc-config"> names
// them, and the credential: with server.auth on, the token lives in this
// tab's sessionStorage only, goes out in the Authorization header of
// fetches, and is exchanged for a single-use ticket for each EventSource
// URL (so it never lands in a URL, a log or the history).

export const cfg = JSON.parse(document.querySelector('meta[name="pgcdc-config"]').content);

const TOKEN_KEY = 'pgcdc.token';

export function token() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}

export function setToken(t) {
  try {
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage off: the token lives as long as the page */ }
}

// HTTPError is a refusal of the server: status, and its JSON body
// ({"error": ..., "message": ..., "errors": [{param, message}]}).
export class HTTPError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body || {};
  }
  get unauthorized() { return this.status === 401; }
}

function describe(status, body) {
  if (!body) return `HTTP ${status}`;
  if (Array.isArray(body.errors) && body.errors.length) {
    return body.errors.map((e) => (e.param ? `${e.param}: ` : '') + e.message).join('; ');
  }
  return body.message || body.error || `HTTP ${status}`;
}

function headers(extra) {
  const h = { Accept: 'application/json', ...extra };
  const t = token();
  if (cfg.auth && t) h.Authorization = 'Bearer ' + t;
  return h;
}

async function request(url, init) {
  let r;
  try {
    r = await fetch(url, { cache: 'no-store', credentials: 'same-origin', ...init });
  } catch (e) {
    throw new HTTPError(0, { message: 'pgcdc is not reachable (' + e.message + ')' });
  }
  let body = null;
  try { body = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) throw new HTTPError(r.status, body);
  return body;
}

// getJSON GETs a data path with the credential.
export function getJSON(url, params) {
  const q = params && params.toString();
  return request(q ? url + '?' + q : url, { headers: headers() });
}

// ticket returns a single-use ticket for an EventSource URL, or '' when
// the server needs none.
export async function ticket() {
  if (!cfg.auth) return '';
  const t = await request(cfg.ticket, { method: 'POST', headers: headers() });
  return t.ticket;
}
