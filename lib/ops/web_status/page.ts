/**
 * The status page: static HTML with an inline script that listens to
 * `/events` and draws the throughput charts on canvases (no external
 * resources, so it works offline and under a strict CSP). Element ids used by
 * tests: `sessions` (table body, one `tr` per session with `data-user`),
 * `total-chart`, `failures`, `updated`.
 *
 * @module
 */

/** The page's HTML. */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sstp status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.05em;margin-top:1.5em}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #ddd}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
canvas{border:1px solid #ccc;background:#fafafa}.muted{color:#777}
</style></head><body>
<h1>sstp server</h1>
<p class="muted">up <span id="uptime">-</span> · <span id="count">0</span> sessions · updated <span id="updated">never</span></p>
<h2>Total throughput</h2>
<canvas id="total-chart" width="720" height="160" data-points="0"></canvas>
<p class="muted">rx (from clients) <span id="total-rx">0</span>/s · tx (to clients) <span id="total-tx">0</span>/s</p>
<h2>Sessions</h2>
<table><thead><tr><th>user</th><th>caller</th><th>interface</th><th>address</th><th>local</th><th>state</th><th>uptime</th><th>rx/s</th><th>tx/s</th><th>throughput</th></tr></thead>
<tbody id="sessions"></tbody></table>
<h2>Recent failures</h2>
<table><thead><tr><th>time</th><th>caller</th><th>user</th><th>reason</th><th>detail</th></tr></thead>
<tbody id="failures"></tbody></table>
<script>
"use strict";
const HISTORY = 120;
const total = [];
const perSession = new Map();
let last;
function rate(b, a, dt) { return dt > 0 ? Math.max(0, (b - a) / dt) : 0; }
function human(n) {
  const u = ["B", "KiB", "MiB", "GiB"]; let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + " " + u[i];
}
function dur(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return (d ? d + "d" : "") + (d || h ? h + "h" : "") + m + "m" + (s % 60) + "s";
}
function draw(canvas, points) {
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  g.clearRect(0, 0, w, h);
  const max = Math.max(1, ...points.map((p) => Math.max(p.rx, p.tx)));
  for (const [key, color] of [["rx", "#1f77b4"], ["tx", "#d62728"]]) {
    g.strokeStyle = color; g.lineWidth = 1.5; g.beginPath();
    points.forEach((p, i) => {
      const x = w - (points.length - 1 - i) * (w / (HISTORY - 1));
      const y = h - 2 - (p[key] / max) * (h - 4);
      i ? g.lineTo(x, y) : g.moveTo(x, y);
    });
    g.stroke();
  }
  canvas.dataset.points = String(points.length);
  canvas.dataset.max = String(Math.round(max));
}
function cell(tr, text, cls) { const td = tr.insertCell(); td.textContent = text; if (cls) td.className = cls; return td; }
function update(s) {
  const dt = last ? (s.atMs - last.atMs) / 1000 : 0;
  const tr = last ? rate(s.total.rxBytes, last.total.rxBytes, dt) : 0;
  const tt = last ? rate(s.total.txBytes, last.total.txBytes, dt) : 0;
  total.push({ rx: tr, tx: tt }); if (total.length > HISTORY) total.shift();
  draw(document.getElementById("total-chart"), total);
  document.getElementById("total-rx").textContent = human(tr);
  document.getElementById("total-tx").textContent = human(tt);
  document.getElementById("uptime").textContent = dur(s.uptimeS);
  document.getElementById("count").textContent = String(s.sessions.length);
  document.getElementById("updated").textContent = new Date(s.atMs).toLocaleTimeString();
  const prev = new Map((last ? last.sessions : []).map((x) => [x.id, x]));
  const body = document.getElementById("sessions");
  const seen = new Set();
  body.replaceChildren();
  for (const x of s.sessions) {
    seen.add(x.id);
    const p = prev.get(x.id);
    const r = p ? rate(x.rxBytes, p.rxBytes, dt) : 0, t = p ? rate(x.txBytes, p.txBytes, dt) : 0;
    let hist = perSession.get(x.id);
    if (!hist) { hist = []; perSession.set(x.id, hist); }
    hist.push({ rx: r, tx: t }); if (hist.length > HISTORY) hist.shift();
    const row = body.insertRow(); row.dataset.user = x.user; row.dataset.id = x.id;
    cell(row, x.user); cell(row, x.callerId); cell(row, x.interface); cell(row, x.address);
    cell(row, x.localAddress); cell(row, x.state); cell(row, dur(x.uptimeS), "num");
    cell(row, human(r), "num"); cell(row, human(t), "num");
    const c = document.createElement("canvas"); c.width = 200; c.height = 30; c.className = "session-chart";
    cell(row, "").appendChild(c); draw(c, hist);
  }
  for (const id of perSession.keys()) if (!seen.has(id)) perSession.delete(id);
  const f = document.getElementById("failures");
  f.replaceChildren();
  for (const x of s.failures) {
    const row = f.insertRow();
    cell(row, new Date(x.atMs).toLocaleTimeString()); cell(row, x.callerId); cell(row, x.user);
    cell(row, x.reason); cell(row, x.detail);
  }
  last = s;
}
const events = new EventSource("events");
events.onmessage = (e) => update(JSON.parse(e.data));
</script></body></html>
`;
