import { afterEach, describe, expect, it } from 'vitest';
import { startAwsProxy, type AwsProxy } from '../helpers/aws-proxy.js';
import { CliProcess, writeJson } from '../helpers/cli-process.js';
import { leaseMotoRegion, type MotoRegion } from '../helpers/moto.js';
import { clients, createCluster } from '../integration/aws/support.js';
import { FakeDrone } from '../sources/fake-drone.js';

/**
 * SIGTERM while the cloud has stopped answering: the built CLI, a Drone server with a waiting
 * stage, and an AWS endpoint that answers describes (moto behind a proxy) but accepts the
 * RunInstances and never answers it. The process must still exit 0 within a bound, saying
 * what it left.
 */
const TOKEN = 'e2e-admin-token-5f0c1d';

let moto: MotoRegion;
let drone: FakeDrone | undefined;
let proxy: AwsProxy | undefined;
let cli: CliProcess | undefined;

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && cli) console.log(cli.raw.slice(-40).join('\n'), cli.stderr);
  cli?.kill('SIGKILL');
  await proxy?.close();
  await drone?.close();
});

function config(runtime: { commandTimeoutSeconds: number; shutdownTimeoutSeconds: number }) {
  return {
    pools: [{ name: 'default', max: 1 }],
    planner: { idleGraceSeconds: 1, billing: { periodSeconds: 1, minimumSeconds: 0 } },
    // No settling wait after start: the launch goes out at once.
    lifecycle: { goneGraceSeconds: 0 },
    runtime: { queuePollSeconds: 0.2, fleetPollSeconds: 0.3, tickSeconds: 0.2, pollTimeoutSeconds: 2, retryBaseSeconds: 0.05, ...runtime },
  };
}

/** Starts the daemon and returns once a RunInstances is held by the black hole. */
async function launchInFlight(runtime: { commandTimeoutSeconds: number; shutdownTimeoutSeconds: number }): Promise<CliProcess> {
  // Each launch starts in a region of its own of the shared moto: nothing left from the last.
  moto = leaseMotoRegion();
  await createCluster(clients(moto).ecs);
  proxy = await startAwsProxy(moto.endpoint, (action) => (action === 'RunInstances' ? 'hang' : 'forward'));
  drone = await FakeDrone.start({ token: TOKEN });
  drone.addStage();
  const c = new CliProcess(['run', '--config', writeJson(config(runtime))], {
    DRONE_SERVER_PROTO: 'http',
    DRONE_SERVER_HOST: new URL(drone.url).host,
    DRONE_SERVER_TOKEN: TOKEN,
    DRONE_RPC_SECRET_REF: '/dda/drone-rpc-secret',
    DDA_AWS_REGION: moto.region,
    DDA_AWS_ENDPOINT: proxy.endpoint,
    DDA_ECS_CLUSTER: 'ci',
    DDA_AMI: 'ami-12c6146b',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  cli = c;
  await c.waitFor((ls) => ls.find((l) => l.msg === 'daemon started'), 'daemon started');
  const p = proxy;
  await c.waitFor(() => p.hanging > 0, 'a RunInstances held by the black hole');
  await c.waitFor((ls) => ls.find((l) => l.msg === 'lifecycle' && l.to === 'requested.launching'), 'the launch in the lifecycle log');
  return c;
}

async function terminate(c: CliProcess): Promise<{ code: number | null; seconds: number }> {
  const t0 = Date.now();
  c.kill('SIGTERM');
  const code = await c.exited;
  return { code, seconds: (Date.now() - t0) / 1000 };
}

describe('SIGTERM while the cloud does not answer', () => {
  it('exits 0 at the shutdown deadline, logging the launch it left in flight', async () => {
    const c = await launchInFlight({ commandTimeoutSeconds: 120, shutdownTimeoutSeconds: 2 });
    const { code, seconds } = await terminate(c);
    expect(code).toBe(0);
    expect(seconds).toBeGreaterThanOrEqual(1.9);
    expect(seconds).toBeLessThan(2 + 3);
    const left = c.lines.find((l) => l.msg === 'shutdown deadline passed: exiting with commands in flight');
    expect(left).toMatchObject({ level: 40, instancesLeft: 1, shutdownTimeoutSeconds: 2 });
    expect(left?.commandsInFlight).toEqual([expect.objectContaining({ action: 'launch', pool: 'default', instance: null })]);
    expect(c.lines.find((l) => l.msg === 'stopped')).toBeUndefined();
  }, 40_000);

  it('exits 0 when the launch reaches its command deadline, which fails it with CLOUD_TIMEOUT', async () => {
    const c = await launchInFlight({ commandTimeoutSeconds: 3, shutdownTimeoutSeconds: 30 });
    const { code, seconds } = await terminate(c);
    expect(code).toBe(0);
    expect(seconds).toBeLessThan(3 + 3);
    expect(c.lines.find((l) => l.msg === 'launch failed')).toMatchObject({ code: 'CLOUD_TIMEOUT', err: 'CLOUD_TIMEOUT: aws: launch did not answer within 3 s' });
    expect(c.lines.find((l) => l.msg === 'lifecycle' && l.to === 'terminated')).toMatchObject({ event: 'LAUNCH_FAILED', reason: 'CLOUD_TIMEOUT: aws: launch did not answer within 3 s' });
    expect(c.lines.find((l) => l.msg === 'stopped')).toMatchObject({ instancesLeft: 0 });
    expect(c.lines.find((l) => l.msg === 'shutdown deadline passed: exiting with commands in flight')).toBeUndefined();
  }, 40_000);
});
