// pgcdc's dashboard: recent history from /api/changes, then the live
// stream of the sse sink, newest on top; filters by table, op and row
// filter (the server's subscription, checked by the server), search and
// sort in the page; pause without loss; details of each change; rates;
// and the health of the source and every sink from /api/status.

import { cfg, token, setToken, getJSON } from './api.js';
import { Stream } from './stream.js';
import { Store } from './store.js';
import { Grid } from './table.js';
import { Rates } from './spark.js';
import { fetchStatus, renderHealth } from './health.js';
import { changes, changeNodes } from './diff.js';

const CAP = 10000; // rows in view; the oldest leave
const HISTORY = 1000; // rows loaded from /api/changes (its largest page)
const STATUS_EVERY = 1000; // ms

const $ = (id) => document.getElementById(id);
const store = new Store(CAP);
const grid = new Grid(store, { table: $('grid'), tbody: $('rows'), scroller: $('scroller'), onOpen: openDetails });
const rates = new Rates($('sparks'), $('spark-by'));
const tables = new Set();
let stream = null;
let sub = new URLSearchParams(); // the subscription in force
let statusTimer = 0;
let booted = false;

// Measurements for benchmarks and tests (window.pgcdc.stats()).
const lags = new Float64Array(1 << 16);
let lagCount = 0;
let fresh = [];
let longTasks = 0, longTaskMs = 0;
if (window.PerformanceObserver && PerformanceObserver.supportedEntryTypes?.includes('longtask')) {
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) { longTasks++; longTaskMs += e.duration; }
  }).observe({ type: 'longtask', buffered: true });
}

// ---- connection indicator and notices

function setConn(state, detail) {
  const el = $('conn');
  if (el.dataset.state === 'reset' && state === 'connected' && !$('notice').hidden) return; // keep "reset" until dismissed
  el.dataset.state = state;
  const text = { connecting: 'connecting', connected: 'connected', reconnecting: 'reconnecting', reset: 'reset: reloaded', signin: 'token needed' }[state] || state;
  $('conn-text').textContent = detail ? `${text} (${detail})` : text;
}

function notice(text) {
  $('notice-text').textContent = text;
  $('notice').hidden = false;
}

$('notice-close').addEventListener('click', () => {
  $('notice').hidden = true;
  if ($('conn').dataset.state === 'reset') setConn(stream ? 'connected' : 'connecting');
});

// ---- rendering: at most once per animation frame

let dirty = false;
function schedule() {
  if (dirty) return;
  dirty = true;
  requestAnimationFrame(frame);
}

let frameMs = 0, frames = 0, eventMs = 0;
function frame() {
  const t0 = performance.now();
  try { draw(); } finally { frameMs += performance.now() - t0; frames++; }
}

function draw() {
  dirty = false;
  store.trim();
  grid.keepPosition(store.take());
  grid.render();
  const now = Date.now();
  for (const r of fresh) {
    const t = Date.parse(r.time);
    if (!isNaN(t)) lags[lagCount++ % lags.length] = now - t;
  }
  fresh = [];
  const n = store.length;
  $('count').textContent = store.search
    ? `${n.toLocaleString()} of ${store.rows.length.toLocaleString()} changes match`
    : `${n.toLocaleString()} changes in view` + (n >= CAP ? ` (the newest ${CAP.toLocaleString()})` : '');
  const badge = $('paused');
  badge.hidden = !store.paused;
  if (store.paused) {
    badge.textContent = `paused, ${store.pending.length.toLocaleString()} new` +
      (store.dropped ? `; ${store.dropped.toLocaleString()} older ones dropped from view` : '');
  }
}

// onEvent takes a change from the stream (live) or from /api/changes.
function onEvent(ev, json, live = true) {
  const t0 = performance.now();
  try { take(ev, json, live); } finally { eventMs += performance.now() - t0; }
}

function take(ev, json, live) {
  const row = store.add(ev, json);
  if (!row) return;
  if (live) rates.count(row);
  if (live && !store.paused) fresh.push(row);
  if (row.table && !tables.has(row.table)) addTable(row.table);
  schedule();
}

// ---- the subscription: history, then the stream after its last id

function subscription() {
  const q = new URLSearchParams();
  const t = $('f-table').value;
  if (t) q.set('table', t);
  const ops = [...document.querySelectorAll('input[name=op]:checked')].map((i) => i.value);
  if (ops.length < 4) q.set('op', ops.join(','));
  for (const f of $('f-filter').value.split('&').map((s) => s.trim()).filter(Boolean)) q.append('filter', f);
  return q;
}

function history(q) {
  const p = new URLSearchParams(q);
  p.set('limit', String(HISTORY));
  return getJSON(cfg.changes, p);
}

let applying = 0;
async function apply() {
  const q = subscription();
  const err = $('f-filter-error');
  if (q.get('op') === '') {
    err.textContent = 'choose at least one operation';
    return;
  }
  const mine = ++applying;
  let page;
  try {
    page = await history(q);
  } catch (e) {
    if (mine !== applying) return;
    if (e.unauthorized) return askToken(e.message);
    if (e.status === 400 || e.status === 403) {
      err.textContent = e.message;
      $('f-filter').setAttribute('aria-invalid', 'true');
      return;
    }
    setConn('reconnecting', e.message);
    setTimeout(() => { if (mine === applying) apply(); }, 1500);
    return;
  }
  if (mine !== applying) return;
  err.textContent = '';
  $('f-filter').removeAttribute('aria-invalid');
  sub = q;
  if (stream) stream.stop();
  store.clear();
  fresh = [];
  for (const ev of page.events || []) onEvent(ev, undefined, false);
  stream = new Stream(q, {
    onEvent,
    onState: setConn,
    onReset: (reason) => {
      setConn('reset');
      notice(`The stream was reset: ${reason}. The newest changes were reloaded from the replay buffer; older ones may be missing from view.`);
      reload(q);
    },
    onAuth: (e) => askToken(e.message),
  });
  setConn('connecting');
  stream.start(page.next || '');
  schedule();
}

// reload merges the replay buffer's newest changes into the view, after
// a reset: whatever it still holds of the gap comes back.
async function reload(q) {
  try {
    const page = await history(q);
    if (q !== sub) return;
    for (const ev of page.events || []) onEvent(ev, undefined, false);
  } catch (e) {
    if (e.unauthorized) askToken(e.message);
  }
}

function addTable(name) {
  tables.add(name);
  const sel = $('f-table');
  const opt = document.createElement('option');
  opt.value = name;
  opt.textContent = name;
  const after = [...sel.options].find((o) => o.value && o.value > name);
  sel.insertBefore(opt, after || null);
}

$('controls').addEventListener('submit', (e) => { e.preventDefault(); apply(); });
$('f-table').addEventListener('change', apply);
for (const cb of document.querySelectorAll('input[name=op]')) cb.addEventListener('change', apply);

let searchTimer = 0;
$('f-search').addEventListener('input', (e) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => { store.setSearch(e.target.value); schedule(); }, 120);
});

for (const b of document.querySelectorAll('th button[data-sort]')) {
  b.addEventListener('click', () => {
    store.setSort(b.dataset.sort);
    for (const th of document.querySelectorAll('#grid th')) th.setAttribute('aria-sort', 'none');
    b.parentElement.setAttribute('aria-sort', store.sort.dir < 0 ? 'descending' : 'ascending');
    schedule();
  });
}

$('pause').addEventListener('click', () => {
  const p = !store.paused;
  store.setPaused(p);
  const b = $('pause');
  b.setAttribute('aria-pressed', String(p));
  b.textContent = p ? 'Resume' : 'Pause';
  if (!p) fresh = [];
  schedule();
});

// ---- details

let detailsRow = null;
function openDetails(row) {
  if (!row) return;
  detailsRow = row;
  $('details-title').textContent = `${row.op} ${row.table} · ${row.id}`;
  $('details-json').textContent = JSON.stringify(row.ev, null, 2);
  const d = changes(row.ev);
  const box = $('details-diff');
  box.replaceChildren();
  if (row.op === 'update') {
    const ul = document.createElement('ul');
    ul.className = 'diff';
    for (const c of d.cols) {
      const li = document.createElement('li');
      li.append(...changeNodes(c, 200, ': '));
      ul.append(li);
    }
    if (d.note) {
      const li = document.createElement('li');
      li.className = 'cnote';
      li.textContent = d.note;
      ul.append(li);
    }
    box.append(ul);
  }
  $('copy-status').textContent = '';
  $('details').showModal();
  $('details-json').focus(); // the content first (and not a button an Enter's keypress would press)
}

$('details-close').addEventListener('click', () => $('details').close());
$('details').addEventListener('close', () => grid.focusRow(grid.focusIndex, false));
$('details-copy').addEventListener('click', async () => {
  const text = detailsRow ? JSON.stringify(detailsRow.ev, null, 2) : '';
  try {
    await navigator.clipboard.writeText(text);
    $('copy-status').textContent = 'copied';
  } catch {
    const range = document.createRange();
    range.selectNodeContents($('details-json'));
    const sel = getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    $('copy-status').textContent = document.execCommand('copy') ? 'copied' : 'selected: press Ctrl+C to copy';
  }
});

// ---- health

async function pollStatus() {
  clearTimeout(statusTimer);
  try {
    const st = await fetchStatus();
    renderHealth($('health'), st);
    grid.acked = (st.sinks || []).map((s) => ({ name: s.name, acked: s.acked || '' }));
    schedule();
  } catch (e) {
    if (e.unauthorized) return; // the stream asks for a token
    const p = document.createElement('p');
    p.className = 'error';
    p.textContent = 'status unavailable: ' + e.message;
    $('health').replaceChildren(p);
  }
  statusTimer = setTimeout(pollStatus, STATUS_EVERY);
}

setInterval(() => rates.draw(), 1000);

// ---- credential

function askToken(message) {
  if (stream) stream.stop();
  stream = null;
  clearTimeout(statusTimer);
  setToken('');
  setConn('signin');
  $('main').hidden = true;
  $('who').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('login-token').focus();
}

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const t = $('login-token').value.trim();
  $('login-token').value = '';
  if (!t) return;
  setToken(t);
  boot();
});

$('signout').addEventListener('click', () => {
  store.clear();
  schedule();
  askToken('');
});

async function boot() {
  if (cfg.auth && !token()) return askToken('');
  let who = null;
  try {
    who = await getJSON(cfg.whoami);
  } catch (e) {
    if (e.unauthorized) return askToken(e.message);
    if (e.status !== 404) {
      setConn('reconnecting', e.message);
      setTimeout(boot, 1500);
      return;
    }
  }
  $('login').hidden = true;
  $('main').hidden = false;
  if (who && cfg.auth) {
    const scope = [];
    if (who.tables && who.tables.length) scope.push('tables ' + who.tables.join(', '));
    if (who.filters && who.filters.length) scope.push('rows where ' + who.filters.join(' and '));
    $('who-text').textContent = `${who.subject || 'token'} (${who.method})` + (scope.length ? ': ' + scope.join('; ') : ': every table');
    $('who').hidden = false;
  }
  for (const t of (who && who.tables) || []) if (!tables.has(t)) addTable(t);
  booted = true;
  apply();
  pollStatus();
}

// ---- for tests and tools: read-only views of the page's state

window.pgcdc = {
  ids: () => store.viewIds(),
  view: () => {
    const out = [];
    for (let i = 0, n = store.length; i < n; i++) {
      const r = store.at(i);
      out.push({ id: r.id, op: r.op, table: r.table, key: r.ev.key || null });
    }
    return out;
  },
  rows: () => store.rows.length,
  booted: () => booted,
  resetStats: () => { lagCount = 0; longTasks = 0; longTaskMs = 0; frameMs = 0; frames = 0; eventMs = 0; },
  stats: () => {
    const n = Math.min(lagCount, lags.length);
    const sample = Array.from(lags.subarray(0, n)).sort((a, b) => a - b);
    const q = (p) => (n ? sample[Math.min(n - 1, Math.floor(p * n))] : 0);
    return {
      rows: store.rows.length, pending: store.pending.length, dropped: store.dropped,
      lagSamples: lagCount, lagP50: q(0.5), lagP99: q(0.99), lagMax: n ? sample[n - 1] : 0,
      longTasks, longTaskMs, frames, frameMs, eventMs,
    };
  },
};

boot();
