// The dashboard page served at /: HTML, CSS and script in one string, so the
// binary needs no asset files and the page no network beyond the node. It
// polls /api/state every second and keeps five minutes of history in the
// browser for the charts.
#include "http_endpoint.hpp"

namespace herald::detail {

const char* dashboard_html() noexcept {
  return R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>herald</title>
<style>
body{font:14px system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
header{background:#1d2430;color:#fff;padding:10px 18px;display:flex;gap:18px;align-items:baseline}
header h1{font-size:18px;margin:0}#conn{font-size:12px;opacity:.8}
main{display:grid;grid-template-columns:1fr 1fr;gap:14px;padding:14px}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:10px 12px}
h2{font-size:14px;margin:0 0 8px}table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #eef0f3;font-size:13px}
.up{color:#137333;font-weight:600}.suspect{color:#b06000;font-weight:600}.down,.left{color:#c5221f;font-weight:600}
canvas{width:100%;height:180px}input{width:100%;box-sizing:border-box;padding:4px;margin-bottom:6px}
#events{max-height:220px;overflow:auto;font-family:monospace;font-size:12px}
.legend span{margin-right:10px;font-size:12px}
</style></head><body>
<header><h1>herald</h1><span id="node"></span><span id="conn">connecting…</span></header>
<main>
<section><h2>Members</h2><table><thead><tr><th>name</th><th>status</th><th>incarnation</th><th>address</th></tr></thead><tbody id="members"></tbody></table></section>
<section><h2>Registry</h2><input id="search" placeholder="search names"><table><thead><tr><th>name</th><th>node</th><th>actor</th></tr></thead><tbody id="registry"></tbody></table></section>
<section><h2>Link throughput (frames/s, in + out)</h2><canvas id="tput" width="600" height="180"></canvas><div class="legend" id="tput-legend"></div></section>
<section><h2>Link ask latency (mean ms per second)</h2><canvas id="lat" width="600" height="180"></canvas><div class="legend" id="lat-legend"></div></section>
<section><h2>Mailboxes</h2><table><thead><tr><th>actor type</th><th>actors</th><th>depth</th><th>max</th><th>handled</th></tr></thead><tbody id="types"></tbody></table></section>
<section><h2>Recent membership events</h2><div id="events"></div></section>
</main>
<script>
"use strict";
const HISTORY = 300, colors = ["#1a73e8","#d93025","#188038","#e37400","#9334e6","#12b5cb"];
const history = {};  // peer -> [{t, fps, lat}]
let prev = null, lastState = null;
const el = id => document.getElementById(id);
function text(tag, s, cls) { const e = document.createElement(tag); e.textContent = s; if (cls) e.className = cls; return e; }
function row(cells, cls) { const tr = document.createElement("tr"); cells.forEach((c, i) => tr.appendChild(text("td", c, i === 1 ? cls : ""))); return tr; }
function fill(id, rows) { const tb = el(id); tb.replaceChildren(...rows); }
function renderRegistry() {
  if (!lastState) return;
  const q = el("search").value.toLowerCase();
  fill("registry", lastState.registry.filter(e => e.name.toLowerCase().includes(q)).map(e => row([e.name, String(e.node), String(e.actor)])));
}
function chart(id, legend, key) {
  const c = el(id), g = c.getContext("2d"), w = c.width, h = c.height;
  g.clearRect(0, 0, w, h);
  const peers = Object.keys(history);
  let max = 1;
  peers.forEach(p => history[p].forEach(s => { if (s[key] > max) max = s[key]; }));
  g.strokeStyle = "#dde1e7"; g.fillStyle = "#5f6368"; g.font = "11px sans-serif";
  for (let i = 0; i <= 4; i++) { const y = h - 14 - (h - 24) * i / 4; g.beginPath(); g.moveTo(40, y); g.lineTo(w, y); g.stroke(); g.fillText((max * i / 4).toPrecision(3), 0, y + 4); }
  const now = Date.now();
  el(legend).replaceChildren();
  peers.forEach((p, i) => {
    const col = colors[i % colors.length];
    g.strokeStyle = col; g.lineWidth = 2; g.beginPath();
    history[p].forEach((s, j) => { const x = 40 + (w - 40) * (1 - (now - s.t) / (HISTORY * 1000)); const y = h - 14 - (h - 24) * s[key] / max; j ? g.lineTo(x, y) : g.moveTo(x, y); });
    g.stroke();
    const sp = text("span", "● " + p); sp.style.color = col; el(legend).appendChild(sp);
  });
}
function update(s) {
  lastState = s;
  el("node").textContent = s.node + " (" + s.node_id + ")";
  fill("members", s.members.map(m => { const tr = row([m.name, m.status, String(m.incarnation), m.address], m.status); tr.dataset.name = m.name; tr.dataset.status = m.status; return tr; }));
  renderRegistry();
  fill("types", s.actor_types.map(t => row([t.name, String(t.alive), String(t.mailbox_depth), String(t.mailbox_depth_max), String(t.handled)])));
  el("events").replaceChildren(...s.events.slice().reverse().map(e => text("div", new Date(e.at_ms).toISOString().substr(11, 12) + " " + e.kind + " " + e.name + " " + e.event + (e.detail ? " — " + e.detail : ""))));
  const t = Date.now();
  if (prev) {
    const dt = (s.at_ms - prev.at_ms) / 1000 || 1;
    s.links.forEach(l => {
      const p = prev.links.find(x => x.peer_id === l.peer_id);
      if (!p) return;
      const fps = (l.frames_sent - p.frames_sent + l.frames_received - p.frames_received) / dt;
      const n = l.asks_answered - p.asks_answered;
      const lat = n > 0 ? (l.ask_latency_sum_ns - p.ask_latency_sum_ns) / n / 1e6 : 0;
      (history[l.peer] = history[l.peer] || []).push({ t, fps: Math.max(fps, 0), lat });
    });
  }
  Object.keys(history).forEach(p => { history[p] = history[p].filter(x => t - x.t < HISTORY * 1000); if (!history[p].length) delete history[p]; });
  prev = s;
  chart("tput", "tput-legend", "fps");
  chart("lat", "lat-legend", "lat");
}
async function poll() {
  try {
    const r = await fetch("/api/state", { cache: "no-store" });
    update(await r.json());
    el("conn").textContent = "live, updated " + new Date().toISOString().substr(11, 8);
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  } catch (e) {
    el("conn").textContent = "node unreachable: " + e;
  }
  setTimeout(poll, 1000);
}
el("search").addEventListener("input", renderRegistry);
poll();
</script></body></html>
)HTML";
}

}  // namespace herald::detail
