import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand, type EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsLeaseStore, createAwsProvider } from '../../../src/cloud/aws/index.js';
import { parseConfig } from '../../../src/config/config.js';
import { systemClock } from '../../../src/domain/clock.js';
import { DEFAULT_DEMAND } from '../../../src/domain/pool.js';
import type { LeaseStore } from '../../../src/ports/lease.js';
import { startReplica, type Replica } from '../../../src/runtime/replica.js';
import { atomicWrites, startAwsProxy, type AwsProxy, type ProxyBehaviour } from '../../helpers/aws-proxy.js';
import { leaseMotoRegion, type MotoRegion } from '../../helpers/moto.js';
import { clients, createCluster, droneSpec, failureLogs, testAwsConfig, waitFor, ScriptedQueue } from './support.js';

/**
 * Two replicas of one daemon against moto, the lease in a DynamoDB table (conditional writes,
 * which moto enforces). Each replica talks to moto through its own loopback proxy, so what
 * each one sent is known: the standby sends nothing but lease reads.
 */
const TABLE = 'dda-lease';
// Long enough that a renewal is not missed on a loaded CI runner (3 s lost the lease there).
const D = 6_000;
const P = 2_000;
let moto: MotoRegion;
let ec2: EC2Client;
const proxies: AwsProxy[] = [];
// The lease's conditional writes are atomic in DynamoDB, not in moto: two replicas started
// together could both take the lease there (CI saw it), so their writes go one at a time.
const atomic = atomicWrites(['UpdateItem']);
const replicas: Replica[] = [];

beforeAll(async () => {
  moto = leaseMotoRegion();
  ({ ec2 } = clients(moto));
  await createCluster(clients(moto).ecs);
  const ddb = new DynamoDBClient({ endpoint: moto.endpoint, region: moto.region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  await ddb.send(
    new CreateTableCommand({ TableName: TABLE, KeySchema: [{ AttributeName: 'daemon', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'daemon', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' }),
  );
}, 30_000);

afterAll(async () => {
  await Promise.all(replicas.splice(0).map((r) => r.halt()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

const config = (daemonId: string) =>
  parseConfig({
    pools: [{ name: 'default', max: 3, concurrency: 1 }],
    planner: { billing: { periodSeconds: 1, minimumSeconds: 0 }, idleGraceSeconds: 60, maxInstances: 4 },
    // Nothing registers as an ECS agent here; the boot deadline is past the test's end. The
    // describe grace (and so the settling hold without intents) keeps its default, 120 s.
    lifecycle: { launchTimeoutSeconds: 15, bootTimeoutSeconds: 300, drainTimeoutSeconds: 10, terminateRetrySeconds: 3, goneGraceSeconds: 120 },
    runtime: { queuePollSeconds: 0.2, fleetPollSeconds: 0.3, fleetPollFastSeconds: 0.3, tickSeconds: 0.2, pollTimeoutSeconds: 5, pollRetries: 0, retryBaseSeconds: 0.2, reapSeconds: 600, commandTimeoutSeconds: 10, daemonId },
  });

async function replica(daemonId: string, holder: string, q: ScriptedQueue, logger: ReturnType<typeof failureLogs>['logger'], decide?: (action: string, seen: number) => ProxyBehaviour): Promise<{ r: Replica; proxy: AwsProxy; store: LeaseStore }> {
  const proxy = await startAwsProxy(moto.endpoint, decide, { atomic });
  proxies.push(proxy);
  const cfg = config(daemonId);
  const aws = testAwsConfig({ endpoint: proxy.endpoint, region: moto.region }, { lease: { table: TABLE, durationSeconds: D / 1000, renewSeconds: P / 1000 } });
  const log = logger.child({ holder });
  const cloud = createAwsProvider(aws, { clock: systemClock, logger: log, daemonId, agents: () => droneSpec(), bootTimeoutSeconds: cfg.lifecycle.bootTimeoutSeconds });
  const store = createAwsLeaseStore(aws, daemonId)!;
  const r = startReplica({ config: cfg, source: q, cloud, clock: systemClock, logger: log, lease: { store, holder, durationMs: D, renewMs: P } });
  replicas.push(r);
  return { r, proxy, store };
}

const GONE = new Set(['shutting-down', 'terminated']);
async function alive(daemonId: string): Promise<Instance[]> {
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:dda:daemon', Values: [daemonId] }] }));
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).filter((i) => !GONE.has(i.State?.Name ?? ''));
}
const LEASE_ACTIONS = new Set(['GetItem', 'UpdateItem']);
const commands = (p: AwsProxy) => p.actions.filter((a) => !LEASE_ACTIONS.has(a));
const pending = (q: ScriptedQueue, id: string) => q.stages.push({ id, status: 'pending', demand: DEFAULT_DEMAND, createdAt: Date.now() });

describe('one active daemon, one standby (DynamoDB lease on moto)', () => {
  it('two replicas started together act as one; killing the active one, the standby takes over within duration + period and buys nothing twice', async () => {
    const { logger, lines } = failureLogs(120);
    const q = new ScriptedQueue();
    pending(q, 's1');
    pending(q, 's2');
    const [a, b] = await Promise.all([replica('pair', 'a', q, logger), replica('pair', 'b', q, logger)]);
    await waitFor('one replica active', () => [a.r, b.r].some((r) => r.role === 'active'), 10_000);
    const [act, sby] = a.r.role === 'active' ? [a, b] : [b, a];
    await waitFor('two instances for two builds', async () => (await alive('pair')).length === 2);
    await new Promise((r) => setTimeout(r, 2 * P));
    expect(sby.r.role).toBe('standby');
    expect(commands(sby.proxy), 'the standby sent a cloud command').toEqual([]);
    expect(sby.proxy.actions.filter((x) => x === 'GetItem').length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.includes('standby: the lease is held by'))).toHaveLength(1);
    expect(sby.r.lease()).toMatchObject({ role: 'standby', heldBy: act.r.lease().holder });

    // Killed: its lease is neither renewed nor released.
    await act.r.halt({ release: false });
    const killedAt = Date.now();
    await waitFor('the standby active', () => sby.r.role === 'active', D + 3 * P);
    const takeoverMs = Date.now() - killedAt;
    console.log(`takeover after the active replica was killed: ${takeoverMs} ms (bound: duration ${D} + period ${P} ms)`);
    expect(takeoverMs).toBeLessThanOrEqual(D + P + 500);
    // The new holder adopts both instances and buys nothing.
    await waitFor('the new holder running its daemon', () => sby.r.daemon);
    await new Promise((r) => setTimeout(r, 3000));
    expect(sby.proxy.actions.filter((x) => x === 'RunInstances')).toEqual([]);
    expect((await alive('pair')).length).toBe(2);
    expect(act.proxy.actions.filter((x) => x === 'RunInstances')).toHaveLength(2);
    await sby.r.halt();
  }, 90_000);

  it('a restart serves a waiting build without the 120 s hold, and a launch in flight at the kill is not bought twice', async () => {
    const { logger, lines } = failureLogs(120);
    const q = new ScriptedQueue();
    pending(q, 'w1');
    // The old daemon's RunInstances reaches moto; its answer never comes back.
    // Its describes stop answering too once it has launched: on a loaded machine a describe
    // listing the instance before the kill would settle the intent, and the new holder would
    // find nothing left to recover.
    let launched = false;
    const old = await replica('restart', 'old', q, logger, (action, seen) => {
      if (action === 'RunInstances' && seen === 0) {
        launched = true;
        return 'forward-then-hang';
      }
      return launched && action === 'DescribeInstances' ? 'hang' : 'forward';
    });
    await waitFor('the instance made by the launch in flight', async () => (await alive('restart')).length === 1);
    expect((await old.store.intents()).map((i) => i.attempt?.clientToken)).toHaveLength(1);
    await old.r.halt({ release: false });
    expect((await alive('restart')).length).toBe(1);

    // While it was down a second build came in.
    pending(q, 'w2');
    const startedAt = Date.now();
    const next = await replica('restart', 'new', q, logger);
    await waitFor('a second instance for the second build', async () => (await alive('restart')).length >= 2, 20_000);
    const servedMs = Date.now() - startedAt;
    console.log(`restart: the waiting build got its instance ${servedMs} ms after the new daemon started (lease takeover included; the settling hold would be 120 s)`);
    expect(servedMs).toBeLessThan(D + P + 10_000);
    await new Promise((r) => setTimeout(r, 3000));
    expect((await alive('restart')).length).toBe(2);
    expect(next.proxy.actions.filter((x) => x === 'RunInstances')).toHaveLength(1);
    expect(lines.some((l) => l.includes('launch intent: instance found by its key tag (adopted)'))).toBe(true);
    await waitFor('the intents cleared', async () => (await next.store.intents()).length === 0, 5000);
    await next.r.halt();
  }, 90_000);
});
