import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { FleetView, type FleetStatus } from '../../src/http/fleet-view.js';
import { meterCloudProvider, meterQueueSource } from '../../src/http/metered-ports.js';
import { loadDaemonSettings } from '../../src/config/daemon-env.js';
import { checkListen, startStatusServer, type StatusServer } from '../../src/http/status-server.js';
import { startDaemon, type Daemon } from '../../src/runtime/daemon.js';
import { VirtualClock } from '../../src/runtime/virtual-clock.js';
import { SimWorld } from '../../src/sim/sim-world.js';
import { parseTrace } from '../../src/sim/trace.js';

const start = Date.parse('2016-03-01T10:00:00Z');
const TOKEN = 'status-token-7c1e9a2b4d';

/** A daemon on the simulated CI server and cloud, 10 virtual minutes in: two builds run on two agents. */
async function busyDaemon(): Promise<{ view: FleetView; daemon: Daemon; clock: VirtualClock }> {
  const clock = new VirtualClock(start);
  const config = parseConfig({ runtime: { queuePollSeconds: 15, fleetPollSeconds: 15, tickSeconds: 15 } });
  const world = new SimWorld({ clock, pools: config.pools, billing: config.planner.billing });
  world.load(parseTrace('job_id,created_at_iso,duration_s\n1,2016-03-01T10:00:05Z,3600\n2,2016-03-01T10:00:05Z,3600\n'));
  let daemon: Daemon | undefined;
  const view = new FleetView(() => daemon, { clock, version: '9.9.9' });
  daemon = startDaemon({
    config,
    source: meterQueueSource(world.source, view.meter, { clock, pools: config.pools }),
    cloud: meterCloudProvider(world.cloud, view.meter, { clock }),
    clock,
    logger: pino({ level: 'silent' }),
    abortablePolls: false,
    ...view.hooks,
  });
  await clock.runUntil(start + 10 * 60_000);
  return { view, daemon, clock };
}

let http: StatusServer | undefined;
let daemon: Daemon | undefined;
afterEach(async () => {
  await http?.close();
  await daemon?.halt();
  http = daemon = undefined;
});

const family = (fs: PromFamily[], name: string) => {
  const f = fs.find((x) => x.name === name);
  if (!f) throw new Error(`no metric family ${name}`);
  return f;
};
const sample = (f: PromFamily, labels: Record<string, string>) => f.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));

describe('status server', () => {
  it('serves the status as JSON: mode, queue, pools with limits, instances with type, market and price, decisions, spend', async () => {
    const d = await busyDaemon();
    daemon = d.daemon;
    http = await startStatusServer(d.view, '127.0.0.1:0');
    const status = (await (await fetch(`${http.url}/api/status`)).json()) as FleetStatus;
    expect(status).toMatchObject({ mode: 'running', ready: true, version: '9.9.9', now: start + 10 * 60_000 });
    expect(status.queue).toEqual({ known: true, pending: 0, running: 2 });
    expect(status.pools).toEqual([expect.objectContaining({ name: 'default', min: 0, max: 16, queue: { pending: 0, running: 2 }, instances: 2, byPhase: { busy: 2 }, holds: [] })]);
    expect(status.limits).toEqual({ maxInstances: 16, budgetPerHour: 5 });
    expect(status.instances).toHaveLength(2);
    for (const i of status.instances) {
      expect(i).toMatchObject({ state: 'task-running.busy', instance: expect.stringMatching(/^i-sim/), type: expect.any(String), market: expect.stringMatching(/^(spot|on-demand)$/) });
      expect(i.pricePerHour).toBeGreaterThan(0);
      expect(i.reason).toMatch(/stage (already )?runs on the agent|a stage already runs on it/);
      expect(i.launchedAt).toBeLessThan(status.now);
    }
    expect(status.decisions[0]).toMatchObject({ kind: 'launch', count: 2, reason: expect.stringContaining('2 pending') });
    // Two instances at their price for most of the 10 minutes.
    const perHour = status.instances.reduce((a, i) => a + i.pricePerHour, 0);
    expect(status.spend.perHour).toBeCloseTo(perHour, 4);
    expect(status.spend.total).toBeGreaterThan(perHour * (7 / 60));
    expect(status.spend.total).toBeLessThan(perHour * (10 / 60));
    // The old address still answers.
    expect(((await (await fetch(`${http.url}/status`)).json()) as FleetStatus).mode).toBe('running');
    expect((await fetch(`${http.url}/nope`)).status).toBe(404);
    expect((await fetch(`${http.url}/api/status`, { method: 'POST' })).status).toBe(405);
  });

  it('serves one self-contained page: inline style and script allowed by hash, nothing from elsewhere', async () => {
    http = await startStatusServer(new FleetView(() => undefined), '127.0.0.1:0');
    const r = await fetch(`${http.url}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/html');
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    const html = await r.text();
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).toContain('/api/events');
  });

  it('metrics parse as Prometheus text and hold the families an operator alerts on', async () => {
    const d = await busyDaemon();
    daemon = d.daemon;
    http = await startStatusServer(d.view, '127.0.0.1:0');
    const r = await fetch(`${http.url}/metrics`);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    const fs = parsePrometheusTextFormat(text);
    // The parser keeps a labelled histogram's buckets but drops its labels, _sum and _count:
    // those are read from their lines.
    const histogramCount = (name: string, labels: string) => Number(new RegExp(`^${name}_count\\{${labels}\\} (\\S+)$`, 'm').exec(text)?.[1]);
    const names = fs.map((f) => f.name);
    for (const n of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) expect(names).toContain(n);
    expect(sample(family(fs, 'dda_build_info'), { version: '9.9.9', node: process.versions.node })?.value).toBe('1');
    expect(family(fs, 'dda_queue_known').metrics[0]?.value).toBe('1');
    expect(sample(family(fs, 'dda_queue_stages'), { pool: 'default', status: 'running' })?.value).toBe('2');
    expect(sample(family(fs, 'dda_queue_stages'), { pool: 'default', status: 'pending' })?.value).toBe('0');
    const inst = family(fs, 'dda_instances');
    const busy = inst.metrics.filter((m) => m.labels?.state === 'busy').reduce((a, m) => a + Number(m.value), 0);
    expect(busy).toBe(2);
    // Known label sets read 0 instead of vanishing.
    expect(sample(inst, { pool: 'default', state: 'draining', market: 'on-demand' })?.value).toBe('0');
    expect(sample(family(fs, 'dda_launches_total'), { pool: 'default', reason: 'demand' })?.value).toBe('2');
    expect(sample(family(fs, 'dda_terminations_total'), { pool: 'default', reason: 'forced' })?.value).toBe('0');
    expect(sample(family(fs, 'dda_decisions_total'), { kind: 'launch' })?.value).toBe('1');
    expect(sample(family(fs, 'dda_holds_total'), { pool: 'default', code: 'at-fleet-max' })?.value).toBe('0');
    expect(family(fs, 'dda_holds').type).toBe('GAUGE');
    // Both stages waited for a cold boot: between a few seconds and the 10 minutes.
    const wait = family(fs, 'dda_job_wait_seconds');
    expect(wait.type).toBe('HISTOGRAM');
    expect(wait.metrics[0]?.buckets?.['+Inf']).toBe('2');
    expect(wait.metrics[0]?.buckets?.['5']).toBe('0');
    expect(histogramCount('dda_job_wait_seconds', 'pool="default"')).toBe(2);
    const waited = Number(/^dda_job_wait_seconds_sum\{pool="default"\} (\S+)$/m.exec(text)?.[1]);
    expect(waited).toBeGreaterThan(10);
    expect(waited).toBeLessThan(2 * 600);
    expect(Number(family(fs, 'dda_spend_usd_total').metrics[0]?.value)).toBeGreaterThan(0);
    expect(Number(family(fs, 'dda_spend_rate_usd_per_hour').metrics[0]?.value)).toBeGreaterThan(0);
    expect(family(fs, 'dda_budget_usd_per_hour').metrics[0]?.value).toBe('5');
    expect(family(fs, 'dda_queue_poll_duration_seconds').type).toBe('HISTOGRAM');
    expect(histogramCount('dda_queue_poll_duration_seconds', 'source="sim"')).toBeGreaterThan(10);
    expect(family(fs, 'dda_queue_poll_errors_total').type).toBe('COUNTER');
    expect(family(fs, 'dda_cloud_request_duration_seconds').type).toBe('HISTOGRAM');
    for (const method of ['describe', 'launch', 'startAgent']) expect(histogramCount('dda_cloud_request_duration_seconds', `provider="sim",method="${method}"`), method).toBeGreaterThan(0);
    expect(family(fs, 'dda_cloud_request_errors_total').type).toBe('COUNTER');
    expect(sample(family(fs, 'dda_mode'), { mode: 'running' })?.value).toBe('1');
    expect(family(fs, 'dda_ready').metrics[0]?.value).toBe('1');
  });

  it('while the queue is unknown, reports it unknown and no depth at all (not 0 pending); readyz says not ready', async () => {
    const clock = new VirtualClock(start);
    const config = parseConfig({ runtime: { queuePollSeconds: 15, fleetPollSeconds: 15, tickSeconds: 15, pollRetries: 0 } });
    const world = new SimWorld({ clock, pools: config.pools, billing: config.planner.billing });
    const failing = { ...world.source, kind: 'sim', drainStyle: world.source.drainStyle, poll: () => Promise.reject(new Error('down')), probe: () => Promise.resolve(), drainAgent: () => Promise.resolve(), forgetAgent: () => Promise.resolve() };
    let d: Daemon | undefined;
    const view = new FleetView(() => d, { clock });
    d = daemon = startDaemon({ config, source: meterQueueSource(failing, view.meter, { clock, pools: config.pools }), cloud: world.cloud, clock, logger: pino({ level: 'silent' }), abortablePolls: false, ...view.hooks });
    http = await startStatusServer(view, '127.0.0.1:0');
    expect((await fetch(`${http.url}/readyz`)).status).toBe(503);
    await clock.runUntil(start + 2 * 60_000);
    const fs = parsePrometheusTextFormat(await (await fetch(`${http.url}/metrics`)).text());
    expect(family(fs, 'dda_queue_known').metrics[0]?.value).toBe('0');
    expect(fs.find((f) => f.name === 'dda_queue_stages')?.metrics ?? []).toEqual([]);
    expect(Number(sample(family(fs, 'dda_queue_poll_errors_total'), { source: 'sim', code: 'UNEXPECTED' })?.value)).toBeGreaterThan(0);
    const r = await fetch(`${http.url}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.text()).toBe('not ready: degraded: the queue cannot be seen\n');
    expect((await fetch(`${http.url}/healthz`)).status).toBe(200);
  });

  it('pushes the status over server-sent events when it changes, and forgets a client that leaves', async () => {
    const d = await busyDaemon();
    daemon = d.daemon;
    http = await startStatusServer(d.view, '127.0.0.1:0', { checkMs: 20, heartbeatMs: 60_000 });
    const ac = new AbortController();
    const r = await fetch(`${http.url}/api/events`, { signal: ac.signal });
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
    const events: FleetStatus[] = [];
    let buf = '';
    const next = async (): Promise<FleetStatus> => {
      for (;;) {
        const end = buf.indexOf('\n\n');
        if (end >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (data) return JSON.parse(data) as FleetStatus;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buf += value;
      }
    };
    events.push(await next());
    expect(events[0]?.instances).toHaveLength(2);
    // The builds end (the simulated CI runs them for an hour); the change is pushed.
    await d.clock.runUntil(start + 75 * 60_000);
    let s = await next();
    while (s.queue.running !== 0) s = await next();
    expect(s.queue).toEqual({ known: true, pending: 0, running: 0 });
    expect(http.listeners()).toBe(1);
    ac.abort();
    await reader.cancel().catch(() => {});
    for (let i = 0; i < 100 && http.listeners() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(http.listeners()).toBe(0);
  });

  it('with a token: 401 without it, 200 with it; the probes stay open; a browser trades ?token= for a cookie', async () => {
    http = await startStatusServer(new FleetView(() => undefined), '127.0.0.1:0', { token: TOKEN });
    for (const path of ['/', '/api/status', '/status', '/api/events', '/metrics']) {
      const r = await fetch(`${http.url}${path}`);
      expect(r.status, path).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await fetch(`${http.url}${path}`, { headers: { authorization: 'Bearer wrong-token-0000000' } })).status, path).toBe(401);
    }
    const ok = await fetch(`${http.url}/api/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).not.toContain(TOKEN);
    expect((await fetch(`${http.url}/metrics`, { headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
    expect((await fetch(`${http.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${http.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${http.url}/?token=nope`, { redirect: 'manual' })).status).toBe(401);
    const trade = await fetch(`${http.url}/?token=${TOKEN}`, { redirect: 'manual' });
    expect(trade.status).toBe(303);
    expect(trade.headers.get('location')).toBe('/');
    const cookie = trade.headers.get('set-cookie')!.split(';')[0]!;
    expect(trade.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
    expect((await fetch(`${http.url}/`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${http.url}/api/status`, { headers: { cookie: 'dda_token=nope' } })).status).toBe(401);
  });

  it('refuses to listen beyond loopback without a token, naming the variable; reads the token from a file', () => {
    expect(() => checkListen('0.0.0.0:9090', undefined)).toThrow('DDA_HTTP_TOKEN: required when DDA_HTTP_LISTEN listens beyond loopback (0.0.0.0): set DDA_HTTP_TOKEN or DDA_HTTP_TOKEN_FILE');
    expect(() => checkListen('[::]:9090', undefined)).toThrow(/DDA_HTTP_TOKEN: required/);
    expect(checkListen('0.0.0.0:9090', TOKEN)).toMatchObject({ loopback: false });
    for (const l of ['9090', '127.0.0.1:9090', 'localhost:9090', '[::1]:9090']) expect(checkListen(l, undefined).loopback, l).toBe(true);
    expect(() => checkListen('127.0.0.1:99999', undefined)).toThrow('DDA_HTTP_LISTEN must be [host:]port with a port up to 65535, not "127.0.0.1:99999"');
    expect(() => loadDaemonSettings({ DDA_HTTP_TOKEN: 'short' })).toThrow(/^DDA_HTTP_TOKEN: must be at least 16 characters \(value not shown\)/);
    expect(() => loadDaemonSettings({ DDA_HTTP_TOKEN_FILE: '/nonexistent/token' })).toThrow('DDA_HTTP_TOKEN_FILE: cannot read /nonexistent/token: ENOENT');
    const s = loadDaemonSettings({ DDA_HTTP_LISTEN: '0.0.0.0:9090', DDA_HTTP_TOKEN: TOKEN });
    expect(s.httpToken).toBe(TOKEN);
    expect(JSON.stringify(s)).not.toContain(TOKEN);
  });

  it('a bad listen address is a one-line error naming the variable', async () => {
    await expect(startStatusServer(new FleetView(() => undefined), 'everywhere')).rejects.toThrow('DDA_HTTP_LISTEN must be [host:]port with a port up to 65535, not "everywhere"');
  });
});

describe('readiness of a replica', () => {
  it('a standby is not ready, and says who holds the lease; an active replica is judged by its daemon', async () => {
    const lease = { role: 'standby' as 'standby' | 'active', holder: 'b', heldBy: 'a' as string | null, until: 0, store: 'memory' };
    const view = new FleetView(() => undefined, { lease: () => lease });
    expect(view.ready()).toEqual({ ready: false, why: 'standby: the lease is held by a' });
    const http = await startStatusServer(view, '127.0.0.1:0');
    try {
      const r = await fetch(`${http.url}/readyz`);
      expect([r.status, await r.text()]).toEqual([503, 'not ready: standby: the lease is held by a\n']);
      Object.assign(lease, { role: 'active', heldBy: 'b' });
      expect(view.ready()).toEqual({ ready: false, why: 'starting' });
    } finally {
      await http.close();
    }
  });
});
