// A minimal receiver for pgcdc's webhook sink: Node's http and crypto only,
// no dependencies. It verifies the Standard Webhooks signature, skips events
// it has already processed (pgcdc delivers at least once: dedupe by event
// id), and answers 2xx only after processing, so that anything it could not
// process is sent again.
//
//   WEBHOOK_SECRET=whsec_... PORT=9000 node server.js
'use strict';

const http = require('node:http');
const crypto = require('node:crypto');

const TOLERANCE_SECONDS = 5 * 60;
const MAX_BODY = 32 << 20;

// The HMAC key: "whsec_" + base64 (the Standard Webhooks form), or the raw
// bytes of any other string, exactly as pgcdc reads its own `secret`.
function decodeSecret(secret) {
  if (!secret) throw new Error('WEBHOOK_SECRET is empty');
  if (secret.startsWith('whsec_')) return Buffer.from(secret.slice('whsec_'.length), 'base64');
  return Buffer.from(secret, 'utf8');
}

// Returns null when the signature verifies, else the reason. body is the raw
// Buffer: verify before parsing, never a re-serialised object.
function verify(key, headers, body, nowSeconds) {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sigs = headers['webhook-signature'];
  if (!id || !ts || !sigs) return 'missing webhook-id, webhook-timestamp or webhook-signature';
  if (!/^\d+$/.test(ts)) return 'webhook-timestamp is not an integer';
  if (Math.abs(nowSeconds - Number(ts)) > TOLERANCE_SECONDS) return 'webhook-timestamp too far from now';
  const want = crypto.createHmac('sha256', key)
    .update(`${id}.${ts}.`)
    .update(body)
    .digest();
  for (const entry of sigs.split(' ')) {
    const [version, sig] = entry.split(',');
    if (version !== 'v1' || !sig) continue;
    const got = Buffer.from(sig, 'base64');
    if (got.length === want.length && crypto.timingSafeEqual(got, want)) return null;
  }
  return 'no valid signature';
}

// Events from any of pgcdc's formats: one event, an array of events, or
// CloudEvents (one envelope or an array) whose data is the event.
function parseEvents(body) {
  const parsed = JSON.parse(body.toString('utf8'));
  const items = Array.isArray(parsed) ? parsed : [parsed];
  return items.map((item) => {
    const ev = item && item.specversion ? item.data : item;
    if (!ev || typeof ev.id !== 'string') throw new Error('event without id');
    return ev;
  });
}

// The last `max` event ids processed. A real receiver stores them (or the
// rows, keyed by event id) in its database, in the same transaction as the
// work the event caused.
class IdSet {
  constructor(max) { this.max = max; this.ids = new Set(); }
  has(id) { return this.ids.has(id); }
  add(id) {
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value);
  }
}

function createServer(key, processEvent) {
  const seen = new IdSet(100000);
  return http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url.split('?')[0] !== '/hooks') {
      res.writeHead(404).end();
      return;
    }
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) { res.writeHead(413).end(); req.destroy(); return; }
      chunks.push(chunk);
    });
    req.on('end', async () => {
      if (res.writableEnded) return;
      const body = Buffer.concat(chunks);
      const problem = verify(key, req.headers, body, Math.floor(Date.now() / 1000));
      if (problem) {
        res.writeHead(401, { 'content-type': 'text/plain' }).end(problem); // 4xx: not retried
        return;
      }
      let events;
      try {
        events = parseEvents(body);
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err.message));
        return;
      }
      for (const ev of events) {
        if (seen.has(ev.id)) {
          console.log(`duplicate ${ev.id}`);
          continue;
        }
        try {
          await processEvent(ev);
        } catch (err) {
          // 5xx: pgcdc retries the request; processed events are skipped above.
          console.error(`process ${ev.id}: ${err.message}`);
          res.writeHead(503).end();
          return;
        }
        seen.add(ev.id);
      }
      res.writeHead(204).end();
    });
  });
}

if (require.main === module) {
  const key = decodeSecret(process.env.WEBHOOK_SECRET);
  const host = process.env.HOST || '127.0.0.1';
  const port = Number(process.env.PORT || 9000);
  const server = createServer(key, async (ev) => {
    console.log(`processed ${ev.id} ${ev.op} ${ev.schema}.${ev.table}`);
  });
  server.listen(port, host, () => {
    console.log(`listening on http://${host}:${server.address().port}/hooks`);
  });
}

module.exports = { decodeSecret, verify, parseEvents, createServer };
