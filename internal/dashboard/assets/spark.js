// Rates counts the changes received per second, by table or by op, over
// the last minute, and draws one sparkline per group (the eight busiest).

const SECONDS = 60;
const MAX_GROUPS = 8;

export class Rates {
  constructor(list, select) {
    this.list = list;
    this.by = select.value;
    this.groups = { table: new Map(), op: new Map() };
    select.addEventListener('change', () => { this.by = select.value; this.draw(); });
  }

  count(row) {
    const sec = Math.floor(row.received / 1000);
    bump(this.groups.table, row.table, sec);
    bump(this.groups.op, row.op, sec);
  }

  draw() {
    const now = Math.floor(Date.now() / 1000);
    const series = [];
    for (const [name, g] of this.groups[this.by]) {
      const counts = new Array(SECONDS).fill(0);
      let total = 0;
      for (let i = 0; i < SECONDS; i++) {
        const s = now - SECONDS + 1 + i;
        if (g.secs[s % SECONDS] === s) counts[i] = g.counts[s % SECONDS];
        total += counts[i];
      }
      if (total > 0) series.push({ name, counts, total });
    }
    series.sort((a, b) => b.total - a.total || (a.name < b.name ? -1 : 1));
    const items = series.slice(0, MAX_GROUPS).map((s) => this.item(s));
    if (items.length === 0) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = 'no changes in the last minute';
      items.push(li);
    }
    this.list.replaceChildren(...items);
  }

  item(s) {
    // The current second is still filling: the rate is the last full one.
    const rate = s.counts[SECONDS - 2];
    const li = document.createElement('li');
    const label = document.createElement('span');
    label.className = 'spark-name';
    label.textContent = s.name;
    const c = document.createElement('canvas');
    c.width = 120;
    c.height = 24;
    c.setAttribute('role', 'img');
    c.setAttribute('aria-label', `${s.name}: ${rate} per second, ${s.total} in the last minute`);
    plot(c, s.counts);
    const v = document.createElement('span');
    v.className = 'spark-rate';
    v.textContent = rate + '/s';
    li.append(label, c, v);
    return li;
  }
}

function bump(groups, name, sec) {
  let g = groups.get(name);
  if (!g) {
    g = { secs: new Array(SECONDS).fill(-1), counts: new Array(SECONDS).fill(0) };
    groups.set(name, g);
  }
  const i = sec % SECONDS;
  if (g.secs[i] !== sec) { g.secs[i] = sec; g.counts[i] = 0; }
  g.counts[i]++;
}

function plot(c, counts) {
  const ctx = c.getContext('2d');
  if (!ctx) return;
  const max = Math.max(1, ...counts);
  const w = c.width, h = c.height;
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = '#0b5fff';
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  counts.forEach((n, i) => {
    const x = (i / (counts.length - 1)) * (w - 2) + 1;
    const y = h - 2 - (n / max) * (h - 4);
    if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
  });
  ctx.stroke();
}
