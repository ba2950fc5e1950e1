// The health panel: /api/status, polled. It shows what the server's own
// metrics and pipeline say: the source's connection and lag, and per sink
// its queue, what it acknowledged, and its own trouble (webhook retries
// and dead letters, live clients and those cut off as too slow).

import { cfg, getJSON } from './api.js';

export async function fetchStatus() {
  return getJSON(cfg.status);
}

export function renderHealth(el, st) {
  const src = st.source || {};
  const parts = [];
  const dl = document.createElement('dl');
  dl.className = 'src';
  const up = src.connected;
  add(dl, 'Source', `${src.type || '?'}`);
  add(dl, 'Connected', up === null || up === undefined ? 'unknown' : up ? 'yes' : 'no', up === false ? 'bad' : up ? 'good' : '');
  if (src.lag_bytes !== undefined) add(dl, 'Slot lag', bytes(src.lag_bytes));
  if (src.lag_seconds !== undefined) add(dl, 'Lag (oldest unacknowledged)', seconds(src.lag_seconds), src.lag_seconds > 10 ? 'bad' : '');
  if (src.retained_wal_bytes !== undefined) add(dl, 'Retained WAL', bytes(src.retained_wal_bytes));
  if (src.reconnects !== undefined) add(dl, src.type === 'listen' ? 'Gaps' : 'Reconnects', num(src.reconnects));
  add(dl, 'Events', num(st.events || 0));
  parts.push(dl);

  const table = document.createElement('table');
  table.className = 'sinks';
  const cap = document.createElement('caption');
  cap.textContent = 'Sinks';
  table.append(cap);
  const head = table.createTHead().insertRow();
  for (const h of ['Sink', 'Queue', 'State']) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    head.append(th);
  }
  const body = table.createTBody();
  for (const s of st.sinks || []) {
    const tr = body.insertRow();
    tr.dataset.sink = s.name;
    const name = tr.insertCell();
    name.textContent = s.name;
    const type = document.createElement('small');
    type.textContent = ' ' + s.type;
    name.append(type);
    const q = tr.insertCell();
    q.textContent = s.capacity ? `${s.queued}/${s.capacity}` : '';
    if (s.capacity && s.queued >= s.capacity) q.className = 'bad';
    const state = tr.insertCell();
    state.textContent = sinkState(s);
    if (s.dead_letters > 0 || s.slow_disconnects > 0) state.className = 'warn';
    if (s.acked) state.title = 'newest acknowledged: ' + s.acked;
  }
  parts.push(table);
  const at = document.createElement('p');
  at.className = 'muted';
  at.textContent = 'as of ' + new Date(st.time).toLocaleTimeString();
  parts.push(at);
  el.replaceChildren(...parts);
}

function sinkState(s) {
  const out = [];
  if (s.clients !== undefined) out.push(s.clients === 1 ? '1 client' : `${num(s.clients)} clients`);
  if (s.slow_disconnects !== undefined) out.push(`${num(s.slow_disconnects)} cut off as slow`);
  if (s.requests) {
    const failed = (s.requests['4xx'] || 0) + (s.requests['5xx'] || 0) + (s.requests.error || 0);
    out.push(`${num(s.delivered || 0)} delivered`);
    if (failed) out.push(`${num(failed)} failed attempts`);
  }
  if (s.retries !== undefined) out.push(`${num(s.retries)} retries`);
  if (s.dead_letters !== undefined) out.push(`${num(s.dead_letters)} dead-lettered`);
  if (s.inflight_events) out.push(`${num(s.inflight_events)} in flight`);
  if (!out.length) out.push(s.acked ? 'delivering' : 'idle');
  return out.join(', ');
}

function add(dl, k, v, cls) {
  const dt = document.createElement('dt');
  dt.textContent = k;
  const dd = document.createElement('dd');
  dd.textContent = v;
  if (cls) dd.className = cls;
  dl.append(dt, dd);
}

const nf = new Intl.NumberFormat();
function num(n) { return nf.format(n); }

function bytes(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
}

function seconds(s) {
  return s < 1 ? Math.round(s * 1000) + ' ms' : s.toFixed(1) + ' s';
}
