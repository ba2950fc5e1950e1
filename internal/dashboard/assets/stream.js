// Stream keeps one EventSource on the sse sink open: it reconnects by
// itself after any break, asking for the events after the last id it saw
// (lastEventId), with a fresh ticket when the server needs a credential,
// and reports every state change:
//   connecting -> connected -> reconnecting -> connected ...
// A reset (the server could not resume after that id: the replay buffer
// no longer holds it, or pgcdc restarted) is reported to onReset with the
// server's reason; the stream goes on live.

import { cfg, ticket } from './api.js';

const OPS = ['insert', 'update', 'delete', 'truncate', 'read'];

export class Stream {
  // params: URLSearchParams of the subscription (table, op, filter).
  // handlers: onEvent(event, json), onState(state, detail), onReset(reason),
  // onAuth(error) when the credential was refused (the stream stops).
  constructor(params, handlers) {
    this.params = params;
    this.h = handlers;
    this.es = null;
    this.lastId = '';
    this.attempt = 0;
    this.timer = 0;
    this.stopped = false;
    this.generation = 0;
  }

  start(lastId) {
    this.lastId = lastId || '';
    this.open();
  }

  stop() {
    this.stopped = true;
    this.generation++;
    clearTimeout(this.timer);
    if (this.es) this.es.close();
    this.es = null;
  }

  async open() {
    const gen = ++this.generation;
    const q = new URLSearchParams(this.params);
    if (this.lastId) q.set('lastEventId', this.lastId);
    try {
      const t = await ticket();
      if (t) q.set('access_token', t);
    } catch (e) {
      if (gen !== this.generation) return;
      if (e.unauthorized) {
        this.h.onAuth(e);
        return;
      }
      this.retry(e.message);
      return;
    }
    if (gen !== this.generation || this.stopped) return;
    const es = new EventSource(cfg.events + '?' + q.toString());
    this.es = es;
    es.onopen = () => {
      this.attempt = 0;
      this.h.onState('connected');
    };
    const onEvent = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch { return; }
      this.lastId = m.lastEventId || ev.id || this.lastId;
      this.h.onEvent(ev, m.data);
    };
    es.onmessage = onEvent;
    for (const op of OPS) es.addEventListener(op, onEvent); // a sink with event_names
    es.addEventListener('reset', (m) => {
      let reason = 'the stream was reset';
      try { reason = JSON.parse(m.data).reason || reason; } catch { /* keep */ }
      this.h.onReset(reason);
    });
    // The server ends the stream after these; reconnect at once.
    es.addEventListener('disconnect', (m) => this.broken(es, gen, 'cut off: ' + reasonOf(m)));
    es.addEventListener('auth_expired', () => this.broken(es, gen, 'the token expired'));
    es.onerror = () => this.broken(es, gen, 'connection lost');
  }

  broken(es, gen, why) {
    es.close();
    if (gen !== this.generation || this.stopped) return;
    this.retry(why);
  }

  retry(why) {
    this.attempt++;
    // 250 ms, 500 ms, 1 s, 2 s, then every 3 s, with jitter.
    const base = Math.min(3000, 250 * 2 ** Math.min(this.attempt - 1, 4));
    const delay = base / 2 + Math.random() * base / 2;
    this.h.onState('reconnecting', why);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { if (!this.stopped) this.open(); }, delay);
  }
}

function reasonOf(m) {
  try {
    const d = JSON.parse(m.data);
    return d.message || d.reason || 'by the server';
  } catch { return 'by the server'; }
}
