// Store holds the changes in view: at most cap rows, in id order (commit
// order), each id once. While paused, new changes wait in a buffer of at
// most cap rows (the oldest leave it first, counted in dropped) and join
// the view on resume; nothing the stream delivered is lost before the
// cap. The view is what search and sort make of the rows, newest first
// by default.

import { keyText } from './diff.js';

export class Store {
  constructor(cap) {
    this.cap = cap;
    this.rows = []; // oldest first
    this.ids = new Set(); // ids in rows and pending
    this.pending = [];
    this.paused = false;
    this.dropped = 0; // pending rows dropped while paused
    this.version = 0; // bumped by every change to rows
    this.search = '';
    this.sort = { key: 'time', dir: -1 };
    this.view = null; // cached view, null: rows newest first
    this.viewVersion = -1;
    this.added = 0; // rows added to the view since the last take()
  }

  clear() {
    this.rows = [];
    this.ids.clear();
    this.pending = [];
    this.dropped = 0;
    this.version++;
  }

  // add puts an event in (or in the pause buffer) and returns its row;
  // null for a known id.
  add(ev, json) {
    if (!ev || !ev.id || this.ids.has(ev.id)) return null;
    const row = makeRow(ev, json);
    this.ids.add(ev.id);
    if (this.paused) {
      this.pending.push(row);
      if (this.pending.length > this.cap) {
        this.ids.delete(this.pending.shift().id);
        this.dropped++;
      }
      return row;
    }
    this.insert(row);
    return row;
  }

  insert(row) {
    const rows = this.rows;
    if (rows.length === 0 || rows[rows.length - 1].id < row.id) {
      rows.push(row);
    } else { // older than the newest (a reload after a reset): by id
      let lo = 0, hi = rows.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (rows[mid].id < row.id) lo = mid + 1; else hi = mid;
      }
      rows.splice(lo, 0, row);
    }
    this.added++;
    this.version++;
  }

  // trim drops the oldest rows beyond the cap (once per frame, not per
  // event).
  trim() {
    const n = this.rows.length - this.cap;
    if (n <= 0) return;
    for (let i = 0; i < n; i++) this.ids.delete(this.rows[i].id);
    this.rows.splice(0, n);
    this.version++;
  }

  setPaused(p) {
    if (p === this.paused) return;
    this.paused = p;
    if (!p) {
      for (const row of this.pending) this.insert(row);
      this.pending = [];
      this.dropped = 0;
      this.trim();
    }
  }

  setSearch(s) {
    this.search = s.trim().toLowerCase();
    this.version++;
  }

  setSort(key) {
    if (this.sort.key === key) this.sort = { key, dir: -this.sort.dir };
    else this.sort = { key, dir: key === 'time' ? -1 : 1 };
    this.version++;
  }

  // length and at(i) read the view: rows newest first, or the searched
  // and sorted copy.
  get length() {
    const v = this.currentView();
    return v ? v.length : this.rows.length;
  }

  at(i) {
    const v = this.currentView();
    return v ? v[i] : this.rows[this.rows.length - 1 - i];
  }

  currentView() {
    const natural = !this.search && this.sort.key === 'time' && this.sort.dir === -1;
    if (natural) return null;
    if (this.viewVersion === this.version) return this.view;
    let v = this.rows;
    if (this.search) {
      const s = this.search;
      v = v.filter((r) => r.lower().includes(s));
    } else {
      v = v.slice();
    }
    const { key, dir } = this.sort;
    v.sort((a, b) => {
      const c = key === 'time' ? 0 : collator.compare(sortKey(a, key), sortKey(b, key));
      if (c !== 0) return c * dir;
      return a.id < b.id ? -dir : a.id > b.id ? dir : 0; // ties (and time) in commit order
    });
    this.view = v;
    this.viewVersion = this.version;
    return v;
  }

  // ids returns the ids in the view, newest first (for tests and tools).
  viewIds() {
    const out = [];
    for (let i = 0, n = this.length; i < n; i++) out.push(this.at(i).id);
    return out;
  }

  // take returns how many rows joined the view since the last call.
  take() {
    const n = this.added;
    this.added = 0;
    return n;
  }
}

// Keys and names compare with their numbers as numbers: id=9 before id=10.
const collator = new Intl.Collator(undefined, { numeric: true });

function sortKey(r, key) {
  switch (key) {
    case 'op': return r.op;
    case 'table': return r.table;
    case 'key': return r.key;
    default: return r.id;
  }
}

function makeRow(ev, json) {
  const table = ev.schema ? ev.schema + '.' + ev.table : (ev.table || '');
  let lower = '';
  return {
    id: ev.id,
    ev,
    table,
    op: ev.op || '',
    time: ev.commit_time || '',
    key: keyText(ev),
    received: Date.now(),
    shown: 0,
    lower: () => lower || (lower = (json || JSON.stringify(ev)).toLowerCase()),
  };
}
