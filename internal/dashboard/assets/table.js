// Grid renders the store's view as a table that is virtual: only the rows
// on screen (and a few around them) exist in the DOM, whatever the number
// in view, between two spacer rows that keep the scroll height. Rows are
// reached by keyboard (arrow keys, Home, End, Page Up/Down; Enter opens the
// change), sorted by the column buttons, and show for updates the changed
// columns before -> after and which sinks received the change.

import { changes, brief, changeNodes } from './diff.js';

export const ROW_HEIGHT = 34; // px; matches tbody tr in app.css
const OVERSCAN = 8;

export class Grid {
  constructor(store, { table, tbody, scroller, onOpen }) {
    this.store = store;
    this.table = table;
    this.tbody = tbody;
    this.scroller = scroller;
    this.onOpen = onOpen;
    this.focusIndex = 0; // the row that takes Tab focus (roving tabindex)
    this.acked = []; // [{name, acked}] from /api/status
    this.sinkNames = [];
    this.top = document.createElement('tr');
    this.bottom = document.createElement('tr');
    for (const s of [this.top, this.bottom]) {
      s.className = 'spacer';
      s.setAttribute('aria-hidden', 'true');
      const td = document.createElement('td');
      td.colSpan = 6;
      s.append(td);
    }
    this.pending = false;
    const later = () => {
      if (this.pending) return;
      this.pending = true;
      requestAnimationFrame(() => { this.pending = false; this.render(); });
    };
    scroller.addEventListener('scroll', later, { passive: true });
    tbody.addEventListener('keydown', (e) => this.key(e));
    tbody.addEventListener('click', (e) => {
      const tr = e.target.closest('tr[data-index]');
      if (tr) { this.focusIndex = +tr.dataset.index; this.onOpen(this.store.at(this.focusIndex)); }
    });
    tbody.addEventListener('focusin', (e) => {
      const tr = e.target.closest('tr[data-index]');
      if (tr) this.focusIndex = +tr.dataset.index;
    });
    new ResizeObserver(later).observe(scroller);
  }

  // keepPosition shifts the scroll by n new rows on top, so that a reader
  // who scrolled down keeps reading the same rows.
  keepPosition(n) {
    if (n > 0 && this.scroller.scrollTop > 0 && this.natural()) {
      this.scroller.scrollTop += n * ROW_HEIGHT;
      this.focusIndex += n;
    }
  }

  natural() {
    const s = this.store;
    return !s.search && s.sort.key === 'time' && s.sort.dir === -1;
  }

  render() {
    const n = this.store.length;
    // Never more rows than the window can show, even if the layout let
    // the scroller grow.
    const h = Math.min(this.scroller.clientHeight || 600, window.innerHeight || 1000);
    const head = this.table.tHead ? this.table.tHead.offsetHeight : 0;
    const scroll = Math.max(0, this.scroller.scrollTop - head);
    const first = Math.max(0, Math.floor(scroll / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(n, Math.ceil((scroll + h) / ROW_HEIGHT) + OVERSCAN);
    this.focusIndex = Math.min(this.focusIndex, Math.max(0, n - 1));
    const hadFocus = this.tbody.contains(document.activeElement);
    this.table.setAttribute('aria-rowcount', String(n + 1));
    this.top.firstChild.style.height = first * ROW_HEIGHT + 'px';
    this.bottom.firstChild.style.height = (n - last) * ROW_HEIGHT + 'px';
    const trs = [this.top];
    const now = Date.now();
    for (let i = first; i < last; i++) {
      const r = this.store.at(i);
      if (!r.shown) r.shown = now;
      trs.push(this.row(r, i));
    }
    trs.push(this.bottom);
    this.tbody.replaceChildren(...trs);
    if (hadFocus) this.focusRow(this.focusIndex, false);
  }

  row(r, i) {
    const tr = document.createElement('tr');
    tr.dataset.index = i;
    tr.dataset.id = r.id;
    tr.dataset.op = r.op;
    tr.setAttribute('aria-rowindex', String(i + 2));
    tr.tabIndex = i === this.focusIndex ? 0 : -1;
    tr.append(
      cell('c-time', timeText(r.time), r.time),
      opCell(r.op),
      cell('c-table', r.table),
      cell('c-key', r.key),
      this.changesCell(r.ev),
      this.recvCell(r.id),
    );
    return tr;
  }

  changesCell(ev) {
    const td = document.createElement('td');
    td.className = 'c-changes';
    if (ev.op !== 'update') {
      const row = ev.op === 'delete' ? ev.before : ev.after;
      if (row) td.textContent = brief(Object.entries(row).map(([c, v]) => c + '=' + brief(v, 16)).join(' '), 80);
      return td;
    }
    const d = changes(ev);
    for (const c of d.cols.slice(0, 4)) {
      const span = document.createElement('span');
      span.className = 'chg';
      span.append(...changeNodes(c, 18));
      td.append(span);
    }
    if (d.cols.length > 4) td.append(` +${d.cols.length - 4} more`);
    if (d.note) {
      const note = document.createElement('span');
      note.className = 'cnote';
      note.textContent = d.cols.length ? ' · ' + d.note : d.note;
      td.append(note);
    }
    return td;
  }

  recvCell(id) {
    const td = document.createElement('td');
    td.className = 'c-recv';
    for (const s of this.acked) {
      const got = s.acked !== '' && s.acked >= id;
      const b = document.createElement('span');
      b.className = got ? 'rcv got' : 'rcv';
      b.textContent = (got ? '✓ ' : '… ') + s.name;
      b.title = got ? `${s.name} acknowledged this change or a later one` : `${s.name} has not acknowledged it yet`;
      td.append(b);
    }
    return td;
  }

  focusRow(i, scroll = true) {
    const n = this.store.length;
    if (n === 0) return;
    i = Math.max(0, Math.min(n - 1, i));
    this.focusIndex = i;
    if (scroll) {
      const head = this.table.tHead ? this.table.tHead.offsetHeight : 0;
      const y = i * ROW_HEIGHT;
      const top = this.scroller.scrollTop;
      const h = this.scroller.clientHeight - head;
      if (y < top) this.scroller.scrollTop = y;
      else if (y + ROW_HEIGHT > top + h) this.scroller.scrollTop = y + ROW_HEIGHT - h;
      this.render();
    }
    const tr = this.tbody.querySelector(`tr[data-index="${i}"]`);
    if (tr) {
      for (const o of this.tbody.querySelectorAll('tr[tabindex="0"]')) if (o !== tr) o.tabIndex = -1;
      tr.tabIndex = 0;
      tr.focus({ preventScroll: true });
    }
  }

  key(e) {
    const page = Math.max(1, Math.floor(this.scroller.clientHeight / ROW_HEIGHT) - 1);
    const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page };
    if (e.key in moves) this.focusRow(this.focusIndex + moves[e.key]);
    else if (e.key === 'Home') this.focusRow(0);
    else if (e.key === 'End') this.focusRow(this.store.length - 1);
    else if (e.key === 'Enter' || e.key === ' ') this.onOpen(this.store.at(this.focusIndex));
    else return;
    e.preventDefault();
  }
}

function cell(cls, text, title) {
  const td = document.createElement('td');
  td.className = cls;
  td.textContent = text;
  if (title) td.title = title;
  return td;
}

function opCell(op) {
  const td = document.createElement('td');
  td.className = 'c-op';
  const s = document.createElement('span');
  s.className = 'op op-' + op;
  s.textContent = op;
  td.append(s);
  return td;
}

// timeText shows a commit time as local hh:mm:ss.mmm.
function timeText(t) {
  if (!t) return '';
  const d = new Date(t);
  if (isNaN(d)) return t;
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
