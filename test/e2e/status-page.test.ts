import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { chromium } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveBackends } from '../../src/cli/backends.js';
import { projectRoot } from '../../src/cli/paths.js';
import { loadEnvironment } from '../../src/cli/settings.js';
import { parseConfig } from '../../src/config/config.js';
import { systemClock } from '../../src/domain/clock.js';
import { DdaError } from '../../src/domain/errors.js';
import { FleetView, type FleetStatus } from '../../src/http/fleet-view.js';
import { meterCloudProvider, meterQueueSource } from '../../src/http/metered-ports.js';
import { startStatusServer, type StatusServer } from '../../src/http/status-server.js';
import type { CloudProvider } from '../../src/ports/cloud-provider.js';
import { startDaemon, type Daemon } from '../../src/runtime/daemon.js';
import { CliProcess, writeJson } from '../helpers/cli-process.js';
import { FakeDrone } from '../sources/fake-drone.js';

/**
 * The operator's HTTP surface on a daemon that runs for real (real time, the Drone source
 * against a Drone server on loopback, the simulated cloud the CLI uses when no AWS is set):
 * readiness follows what the daemon can see, and the status page renders in a real browser.
 */
const TOKEN = 'e2e-admin-token-5f0c1d';
const HTTP_TOKEN = 'e2e-status-token-93ab71c0';
const fast = {
  pools: [{ name: 'default', max: 3 }],
  planner: { idleGraceSeconds: 30, billing: { periodSeconds: 1, minimumSeconds: 0 } },
  runtime: { queuePollSeconds: 0.2, fleetPollSeconds: 0.2, tickSeconds: 0.2, pollTimeoutSeconds: 1, pollRetries: 0, retryBaseSeconds: 0.05 },
  lifecycle: { goneGraceSeconds: 5 },
  simulatedCloud: { vmStartSeconds: [0.1, 0.2], bootstrapSeconds: [0.2, 0.4], agentStartSeconds: 0.1, terminateSeconds: 0.1 },
};
const droneEnv = (d: FakeDrone) => ({
  DRONE_SERVER_PROTO: 'http',
  DRONE_SERVER_HOST: new URL(d.url).host,
  DRONE_SERVER_TOKEN: TOKEN,
  DRONE_RPC_SECRET_REF: '/dda/drone-rpc-secret',
});

async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await probe();
    if (r) return r;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** The cloud, until told to stop answering: then every call hangs until its caller gives up. */
function switchable(cloud: CloudProvider): { cloud: CloudProvider; silence(on: boolean): void } {
  let silent = false;
  const hang = (signal?: AbortSignal) =>
    new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(new DdaError('CLOUD_UNAVAILABLE', 'no answer')), { once: true }));
  return {
    silence: (on) => (silent = on),
    cloud: { ...cloud, kind: cloud.kind, describe: (signal) => (silent ? hang(signal) : cloud.describe(signal)) },
  };
}

let drone: FakeDrone | undefined;
let daemon: Daemon | undefined;
let http: StatusServer | undefined;
let cli: CliProcess | undefined;
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && cli) console.log(cli.raw.slice(-40).join('\n'), cli.stderr);
  cli?.kill('SIGKILL');
  await http?.close();
  await daemon?.halt();
  await drone?.close();
  cli = daemon = http = drone = undefined;
});

describe('the status server on a running daemon', () => {
  it('is ready once the queue and the fleet are seen, 503 while the cloud stops answering, ready again after', async () => {
    drone = await FakeDrone.start({ token: TOKEN });
    const config = parseConfig(fast);
    const logger = pino({ level: 'silent' });
    const backends = await resolveBackends(loadEnvironment(droneEnv(drone), config), config, { clock: systemClock, logger });
    if (!backends) throw new Error('no backends');
    const sw = switchable(backends.cloud);
    let d: Daemon | undefined;
    const view = new FleetView(() => d, { clock: systemClock });
    http = await startStatusServer(view, '127.0.0.1:0');
    const readyz = async () => {
      const r = await fetch(`${http!.url}/readyz`);
      return { status: r.status, body: await r.text() };
    };
    expect(await readyz()).toEqual({ status: 503, body: 'not ready: starting\n' });
    d = daemon = startDaemon({
      config,
      source: meterQueueSource(backends.source, view.meter, { clock: systemClock, pools: config.pools }),
      cloud: meterCloudProvider(sw.cloud, view.meter, { clock: systemClock }),
      clock: systemClock,
      logger,
      ...view.hooks,
    });
    await until('ready', async () => (await readyz()).status === 200);

    sw.silence(true);
    const blind = await until('not ready', async () => {
      const r = await readyz();
      return r.status === 503 && r;
    });
    expect(blind.body).toBe('not ready: blind: the cloud cannot be described\n');
    const status = (await (await fetch(`${http.url}/api/status`)).json()) as FleetStatus;
    expect(status).toMatchObject({ mode: 'blind', ready: false, cloud: { known: false, error: expect.stringMatching(/CLOUD_UNAVAILABLE/) } });
    const metrics = await (await fetch(`${http.url}/metrics`)).text();
    expect(metrics).toMatch(/^dda_cloud_known 0$/m);
    expect(metrics).toMatch(/^dda_cloud_request_errors_total\{provider="sim",method="describe",code="CLOUD_UNAVAILABLE"\} [1-9]/m);
    expect(metrics).toMatch(/^dda_ready 0$/m);
    // The daemon is alive: liveness stays green while readiness is not.
    expect((await fetch(`${http.url}/healthz`)).status).toBe(200);

    sw.silence(false);
    await until('ready again', async () => (await readyz()).status === 200);
  }, 45_000);

  it('shows an instance row and a decision with its reason in a real browser (headless Chromium)', async (ctx) => {
    const found = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
    if (!found) {
      ctx.skip(true, 'no chromium binary on PATH: install it (apt-get install -y chromium; .ci/run does) to run the browser test');
      return;
    }
    drone = await FakeDrone.start({ token: TOKEN });
    cli = new CliProcess(['run', '--config', writeJson(fast)], { ...droneEnv(drone), DDA_HTTP_LISTEN: '127.0.0.1:0', DDA_HTTP_TOKEN: HTTP_TOKEN });
    const url = await cli.waitFor((ls) => ls.find((l) => typeof l.url === 'string' && String(l.msg).startsWith('status page'))?.url as string | undefined, 'the status page address');
    drone.addStage();
    await cli.waitFor((ls) => ls.find((l) => l.msg === 'lifecycle' && String(l.to).startsWith('task-running')), 'an agent running');

    const browser = await chromium.launch({ executablePath: found, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const failed: string[] = [];
      page.on('requestfailed', (r) => failed.push(r.url()));
      page.on('request', (r) => {
        if (!r.url().startsWith(url) && !r.url().startsWith('data:')) failed.push(`left loopback: ${r.url()}`);
      });
      // Without the token: refused.
      expect((await page.goto(`${url}/`))?.status()).toBe(401);
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      // With it once in the address: a cookie, and the page.
      await page.goto(`${url}/?token=${HTTP_TOKEN}`);
      expect(page.url()).toBe(`${url}/`);
      const row = page.getByTestId('instance-row').first();
      await row.waitFor({ timeout: 15_000 });
      expect(await row.textContent()).toMatch(/i-sim.*default.*task-running/);
      const decision = page.getByTestId('decision-row').filter({ hasText: 'launch' }).first();
      await decision.waitFor();
      expect(await decision.textContent()).toMatch(/launch ×1.*default.*pending/);
      await page.locator('#conn', { hasText: 'live' }).waitFor();
      expect(await page.getByTestId('mode').textContent()).toBe('running');
      const out = join(projectRoot(), 'test-output');
      mkdirSync(out, { recursive: true });
      const shot = join(out, 'status-page.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(existsSync(shot)).toBe(true);
      expect(errors, 'errors in the page').toEqual([]);
      expect(failed.filter((f) => !f.includes('/api/events')), 'requests that failed or left loopback').toEqual([]);
    } finally {
      await browser.close();
    }
    cli.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.raw.join('\n')).not.toContain(HTTP_TOKEN);
  }, 60_000);

  it('refuses to serve beyond loopback without a token: one line naming the variable, exit 2', async () => {
    drone = await FakeDrone.start({ token: TOKEN });
    cli = new CliProcess(['run', '--config', writeJson(fast)], { ...droneEnv(drone), DDA_HTTP_LISTEN: '0.0.0.0:0' });
    expect(await cli.exited).toBe(2);
    expect(cli.stderr.trim().split('\n')).toEqual(['drone-dynamic-agents: CONFIG_INVALID: DDA_HTTP_TOKEN: required when DDA_HTTP_LISTEN listens beyond loopback (0.0.0.0): set DDA_HTTP_TOKEN or DDA_HTTP_TOKEN_FILE']);
    // Nothing was started: not even the CI server was asked.
    expect(drone.requests).toEqual([]);
  }, 20_000);
});
