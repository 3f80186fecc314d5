import { createHash } from 'node:crypto';

/**
 * The status page: one self-contained HTML document (inline style and script, no build step,
 * nothing fetched but its own `/api/status` and `/api/events`). The content security policy
 * allows exactly the inline style and script by their hashes and connections to this server,
 * so the page cannot load anything from anywhere else even if a reason shown on it tried to.
 * Every value is put into the page as text (textContent), never as markup.
 */

const STYLE = `
:root { --bg:#f6f7f9; --card:#fff; --ink:#1c2430; --dim:#5f6b7a; --line:#e2e6eb; --ok:#1a7f37; --warn:#9a6700; --bad:#cf222e; --info:#0969da; }
@media (prefers-color-scheme: dark) { :root { --bg:#0d1117; --card:#161b22; --ink:#e6edf3; --dim:#8b949e; --line:#30363d; --ok:#3fb950; --warn:#d29922; --bad:#f85149; --info:#58a6ff; } }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; flex-wrap:wrap; gap:12px; align-items:center; padding:12px 20px; background:var(--card); border-bottom:1px solid var(--line); }
header h1 { font-size:16px; margin:0 8px 0 0; }
main { padding:16px 20px; display:grid; gap:16px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(220px, 1fr)); gap:12px; }
.card, section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.card .k { color:var(--dim); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card .v { font-size:22px; font-weight:600; margin-top:2px; }
.card .s { color:var(--dim); font-size:12px; }
h2 { font-size:14px; margin:0 0 8px; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--dim); font-weight:500; font-size:12px; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.badge { display:inline-block; white-space:nowrap; padding:1px 8px; border-radius:999px; font-size:12px; font-weight:600; border:1px solid currentColor; }
.ok { color:var(--ok); } .warn { color:var(--warn); } .bad { color:var(--bad); } .info { color:var(--info); } .dim { color:var(--dim); }
.bar { height:6px; background:var(--line); border-radius:3px; overflow:hidden; margin-top:6px; }
.bar > div { height:100%; background:var(--info); }
.bar > div.over { background:var(--bad); }
.holds li { margin:2px 0; }
code { font-family:ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12px; }
.empty { color:var(--dim); font-style:italic; }
#conn { margin-left:auto; font-size:12px; }
`;

const SCRIPT = `
'use strict';
const $ = (id) => document.getElementById(id);
let status = null, receivedAt = 0;

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) { if (k === 'class') e.className = v; else e.setAttribute(k, v); }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}
function duration(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return '–';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return m + ' min' + (m < 10 && s % 60 ? ' ' + (s % 60) + ' s' : '');
  const h = Math.floor(m / 60);
  if (h < 48) return h + ' h' + (m % 60 ? ' ' + (m % 60) + ' min' : '');
  return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
}
function now() { return status ? status.now + (Date.now() - receivedAt) : Date.now(); }
function ago(t) { if (t === null || t === undefined) return '–'; const d = now() - t; return d < 5000 ? 'just now' : duration(d) + ' ago'; }
function usd(x) { return '$' + (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x >= 0.01 ? x.toFixed(3) : x.toFixed(4)); }
const MODE = { running: 'ok', adopting: 'info', starting: 'info', degraded: 'warn', blind: 'bad', stopping: 'warn', stopped: 'bad' };
const MODE_TEXT = {
  running: 'sees the queue and the fleet, and plans',
  adopting: 'counting what the cloud already runs before planning',
  starting: 'starting',
  degraded: 'cannot see the CI queue: holding, then draining to zero',
  blind: 'cannot describe the cloud: no launches',
  stopping: 'stopping: no launches, idle agents drained',
  stopped: 'stopped',
};
const PHASE = { busy: 'ok', idle: 'info', booting: 'warn', requested: 'warn', priming: 'warn', draining: 'dim', parking: 'dim', parked: 'info' };

function render() {
  const s = status;
  if (!s) return;
  $('mode').replaceChildren(el('span', { class: 'badge ' + (MODE[s.mode] || 'dim'), 'data-testid': 'mode' }, s.mode));
  $('modeText').textContent = MODE_TEXT[s.mode] || '';
  $('ready').replaceChildren(el('span', { class: 'badge ' + (s.ready ? 'ok' : 'bad') }, s.ready ? 'ready' : 'not ready'));
  $('version').textContent = 'v' + s.version;
  $('updated').textContent = 'updated ' + ago(s.now);

  const q = s.queue;
  $('queue').replaceChildren(q.known
    ? el('div', {}, el('div', { class: 'v' }, q.pending + ' waiting'), el('div', { class: 's' }, q.running + ' running' + (s.unmatched ? ', ' + s.unmatched + ' no pool can serve' : '')))
    : el('div', {}, el('div', { class: 'v bad' }, 'unknown'), el('div', { class: 's' }, 'since ' + ago(q.since) + (q.error ? ': ' + q.error : ''))));

  const live = s.instances.length;
  $('fleet').replaceChildren(el('div', { class: 'v' }, live + ' / ' + s.limits.maxInstances),
    el('div', { class: 's' }, s.cloud.known ? 'instances, of the fleet max' : 'cloud unknown since ' + ago(s.cloud.since) + (s.cloud.error ? ': ' + s.cloud.error : '')));

  const share = s.limits.budgetPerHour > 0 ? s.spend.perHour / s.limits.budgetPerHour : 0;
  const fill = el('div', { class: share >= 1 ? 'over' : '' });
  fill.style.width = Math.min(100, Math.round(share * 100)) + '%'; // through the CSSOM: the policy refuses style attributes
  const bar = el('div', { class: 'bar' }, fill);
  $('spend').replaceChildren(el('div', { class: 'v' }, usd(s.spend.perHour) + '/h'), el('div', { class: 's' }, 'budget ' + usd(s.limits.budgetPerHour) + '/h · today ' + usd(s.spend.today) + ' · since start ' + usd(s.spend.total) + ' (' + duration(now() - s.spend.since) + ')'), bar);

  const holds = $('holds');
  holds.replaceChildren(...(s.holds.length
    ? s.holds.map((h) => el('li', { 'data-testid': 'hold' }, el('code', { class: 'warn' }, h.code), ' ', el('b', {}, h.pool), ': ', h.reason))
    : [el('li', { class: 'empty' }, s.mode === 'running' ? 'Nothing held back: the fleet is what the queue asks for.' : 'No plan yet.')]));

  $('pools').replaceChildren(...s.pools.map((p) => el('tr', {},
    el('td', {}, el('b', {}, p.name)),
    el('td', { class: 'num' }, p.queue ? p.queue.pending : '?'),
    el('td', { class: 'num' }, p.queue ? p.queue.running : '?'),
    el('td', {}, p.instances + ' ' + Object.entries(p.byPhase).map(([k, v]) => v + ' ' + k).join(', ').replace(/^(.+)$/, '($1)')),
    el('td', { class: 'num' }, p.min + '–' + p.max),
    el('td', {}, p.concurrency + ' per agent'),
    el('td', {}, p.warmPool ? p.warmPool.size + (p.warmPool.size === 'auto' ? ' (' + p.warmPool.min + '–' + p.warmPool.max + ')' : '') : 'none'),
    el('td', {}, p.holds.length ? p.holds.map((h) => h.code).join(', ') : '–'))));

  const rows = s.instances.map((i) => el('tr', { 'data-testid': 'instance-row' },
    el('td', {}, el('code', {}, i.instance || i.key)),
    el('td', {}, i.pool),
    el('td', {}, el('span', { class: 'badge ' + (PHASE[i.phase] || 'dim') }, i.state)),
    el('td', { class: 'num' }, duration(i.since === null ? null : now() - i.since)),
    el('td', { class: 'num' }, duration(i.launchedAt === null ? null : now() - i.launchedAt)),
    el('td', {}, i.type || '–'),
    el('td', {}, i.market || '–'),
    el('td', { class: 'num' }, i.pricePerHour ? usd(i.pricePerHour) + '/h' : '–'),
    el('td', { class: i.forced ? 'bad' : '' }, i.reason)));
  $('instances').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '9', class: 'empty' }, 'No instances: nothing is being paid for.'))]));

  const ds = s.decisions.slice(0, 30).map((d) => el('tr', { 'data-testid': 'decision-row' },
    el('td', { class: 'num', title: new Date(d.at).toISOString() }, ago(d.at)),
    el('td', {}, el('span', { class: 'badge ' + (d.kind === 'hold' ? 'warn' : d.kind === 'launch' ? 'ok' : 'info') }, d.kind + (d.count ? ' ×' + d.count : '') + (d.code ? ' ' + d.code : ''))),
    el('td', {}, d.pool),
    el('td', {}, d.reason)));
  $('decisions').replaceChildren(...(ds.length ? ds : [el('tr', {}, el('td', { colspan: '4', class: 'empty' }, 'No decision yet.'))]));
}

function take(json) { status = JSON.parse(json); receivedAt = Date.now(); render(); }
function connect() {
  const es = new EventSource('/api/events');
  es.addEventListener('status', (e) => { $('conn').textContent = 'live'; $('conn').className = 'ok'; take(e.data); });
  es.onerror = () => { $('conn').textContent = 'reconnecting…'; $('conn').className = 'warn'; };
}
fetch('/api/status', { cache: 'no-store' }).then((r) => r.ok ? r.text() : Promise.reject(new Error(String(r.status)))).then(take).catch(() => {});
connect();
setInterval(render, 1000);
`;

const BODY = `
<header>
  <h1>drone-dynamic-agents</h1>
  <span id="mode"></span><span id="modeText" class="dim"></span><span id="ready"></span>
  <span id="conn" class="dim">connecting…</span><span id="updated" class="dim"></span><span id="version" class="dim"></span>
</header>
<main>
  <div class="cards">
    <div class="card"><div class="k">Queue</div><div id="queue"></div></div>
    <div class="card"><div class="k">Fleet</div><div id="fleet"></div></div>
    <div class="card"><div class="k">Spend</div><div id="spend"></div></div>
  </div>
  <section><h2>Why isn't it scaling? (holds in force)</h2><ul class="holds" id="holds"></ul></section>
  <section><h2>Pools</h2><table>
    <thead><tr><th>pool</th><th class="num">waiting</th><th class="num">running</th><th>instances</th><th class="num">min–max</th><th>concurrency</th><th>warm pool</th><th>holds</th></tr></thead>
    <tbody id="pools"></tbody></table></section>
  <section><h2>Instances</h2><table>
    <thead><tr><th>instance</th><th>pool</th><th>state</th><th class="num">in state</th><th class="num">age</th><th>type</th><th>market</th><th class="num">price</th><th>why it is there</th></tr></thead>
    <tbody id="instances"></tbody></table></section>
  <section><h2>Recent decisions</h2><table>
    <thead><tr><th class="num">when</th><th>decision</th><th>pool</th><th>reason</th></tr></thead>
    <tbody id="decisions"></tbody></table></section>
</main>
`;

const hash = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

let cached: { html: string; csp: string } | undefined;

export function statusPage(): { html: string; csp: string } {
  cached ??= {
    html: `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>drone-dynamic-agents</title><link rel="icon" href="data:,"><style>${STYLE}</style></head><body>${BODY}<script>${SCRIPT}</script></body></html>\n`,
    csp: `default-src 'none'; style-src ${hash(STYLE)}; script-src ${hash(SCRIPT)}; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  };
  return cached;
}
