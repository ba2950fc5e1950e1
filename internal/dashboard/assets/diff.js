// What an update changed, from the event's before and after.
//
// PostgreSQL sends the whole old row only for REPLICA IDENTITY FULL
// tables; otherwise before is null, or (when the key changed) carries the
// key columns alone. Columns in unchanged_toast were not sent and did not
// change.

// changes returns {cols: [{col, before, after}], note}: the changed
// columns (before -> after) and, when the old row is not whole, a note
// saying what cannot be known.
export function changes(ev) {
  if (ev.op !== 'update') return { cols: [], note: '' };
  const after = ev.after || {};
  const before = ev.before;
  if (!before) {
    return { cols: [], note: 'old row not sent (replica identity default): changed columns unknown' };
  }
  const keyOnly = isKeyOnly(ev);
  const cols = [];
  for (const col of Object.keys(after)) {
    if (!(col in before)) continue;
    const a = JSON.stringify(after[col]);
    const b = JSON.stringify(before[col]);
    if (a !== b) cols.push({ col, before: before[col], after: after[col] });
  }
  return { cols, note: keyOnly ? 'the old row carries only the key: other changed columns unknown' : '' };
}

// isKeyOnly reports whether before holds the key columns and nothing else
// while after has more: the old row is not whole.
function isKeyOnly(ev) {
  const b = Object.keys(ev.before || {});
  const a = Object.keys(ev.after || {});
  if (b.length >= a.length - (ev.unchanged_toast || []).length) return false;
  const key = ev.key || {};
  return b.every((c) => c in key);
}

// brief renders a value for a table cell: strings bare, the rest as JSON,
// cut to n characters.
export function brief(v, n = 40) {
  let s = typeof v === 'string' ? v : JSON.stringify(v);
  if (s === undefined) s = '';
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

// keyText renders the key as col=value pairs.
export function keyText(ev) {
  if (ev.op === 'truncate') return (ev.tables || []).join(', ');
  const k = ev.key;
  if (!k) return '';
  return Object.entries(k).map(([c, v]) => c + '=' + brief(v, 24)).join(' ');
}

// changeNodes renders one changed column as nodes: the column's name, the
// old value struck through, the new one, each value cut to n characters.
export function changeNodes(c, n, sep = ' ') {
  const col = document.createElement('b');
  col.textContent = c.col;
  const del = document.createElement('del');
  del.textContent = brief(c.before, n);
  const ins = document.createElement('ins');
  ins.textContent = brief(c.after, n);
  return [col, sep, del, ' → ', ins];
}
