import { DescribeInstancesCommand, type EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Actor } from 'xstate';
import { createAwsProvider } from '../../../src/cloud/aws/index.js';
import { parseConfig } from '../../../src/config/config.js';
import { systemClock } from '../../../src/domain/clock.js';
import { DEFAULT_DEMAND } from '../../../src/domain/pool.js';
import type { QueueSource } from '../../../src/ports/queue-source.js';
import { startDaemon, type Daemon } from '../../../src/runtime/daemon.js';
import type { Transition } from '../../../src/runtime/lifecycle-log.js';
import type { SupervisorMachine } from '../../../machines/supervisor/supervisor.machine.js';
import { startAwsProxy, type AwsProxy } from '../../helpers/aws-proxy.js';
import { leaseMotoRegion, type MotoRegion } from '../../helpers/moto.js';
import { captureLogger, clients, createCluster, droneSpec, testAwsConfig, waitFor, ScriptedQueue } from './support.js';

/**
 * Two live instances with one `dda:key`: a RunInstances whose answer is lost (the proxy
 * forwards it to moto, then answers 500) is retried by the SDK, and moto — like any endpoint
 * that does not honour the ClientToken — makes a second instance with the same tags. The
 * daemon that launched them, and the next daemon that adopts both in one describe, must not
 * crash: each live instance is owned by exactly one actor, or ended with a reason, and at the
 * end nothing is left running.
 */

const DAEMON = 'd1';
let moto: MotoRegion;
let ec2: EC2Client;
let proxy: AwsProxy;
const daemons: Daemon[] = [];

beforeAll(async () => {
  moto = leaseMotoRegion();
  ({ ec2 } = clients(moto));
  await createCluster(clients(moto).ecs);
  // Only the first RunInstances loses its answer; the SDK's retry is answered.
  proxy = await startAwsProxy(moto.endpoint, (action, seen) => (action === 'RunInstances' && seen === 0 ? 'forward-then-500' : 'forward'));
}, 30_000);

afterAll(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.halt()));
  await proxy?.close();
});

afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.halt()));
});


const config = () =>
  parseConfig({
    pools: [{ name: 'default', max: 2, concurrency: 1 }],
    planner: { billing: { periodSeconds: 1, minimumSeconds: 0 }, idleGraceSeconds: 1, maxInstances: 4 },
    // Nothing registers as an ECS agent here: the boot deadline ends what is left at the end.
    lifecycle: { launchTimeoutSeconds: 15, bootTimeoutSeconds: 12, drainTimeoutSeconds: 10, terminateRetrySeconds: 3, goneGraceSeconds: 0 },
    runtime: { queuePollSeconds: 0.2, fleetPollSeconds: 0.3, tickSeconds: 0.2, pollTimeoutSeconds: 5, pollRetries: 0, retryBaseSeconds: 0.2, reapSeconds: 60, commandTimeoutSeconds: 20, daemonId: DAEMON },
  });

interface Run {
  daemon: Daemon;
  transitions: Transition[];
  errors: unknown[];
}

function run(source: QueueSource, logger: ReturnType<typeof captureLogger>['logger']): Run {
  const cfg = config();
  const transitions: Transition[] = [];
  const errors: unknown[] = [];
  const cloud = createAwsProvider(testAwsConfig({ endpoint: proxy.endpoint, region: moto.region }), { clock: systemClock, logger, daemonId: DAEMON, agents: () => droneSpec(), bootTimeoutSeconds: cfg.lifecycle.bootTimeoutSeconds });
  const daemon = startDaemon({ config: cfg, source, cloud, clock: systemClock, logger, onTransition: (t) => transitions.push(t) });
  // A crash of the supervisor (XState's "Actor with system ID ... already exists") lands here.
  (daemon.supervisor as Actor<SupervisorMachine>).subscribe({ error: (e) => errors.push(e) });
  daemons.push(daemon);
  return { daemon, transitions, errors };
}


const GONE = new Set(['shutting-down', 'terminated']);
const keyOf = (i: Instance) => i.Tags?.find((t) => t.Key === 'dda:key')?.Value;

async function ours(): Promise<Instance[]> {
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:dda:daemon', Values: [DAEMON] }] }));
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}
const alive = (is: Instance[]) => is.filter((i) => !GONE.has(i.State?.Name ?? ''));

/** Instance id → the actor keys that ever held it in this daemon's transitions. */
function owners(ts: Transition[]): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const t of ts) {
    if (t.machine !== 'instance' || !t.instance) continue;
    const s = m.get(t.instance) ?? new Set<string>();
    s.add(t.key);
    m.set(t.instance, s);
  }
  return m;
}

/** Each twin is held by exactly one actor of its own, or was ended with a reason the log shows. */
function expectOneOwnerEach(twins: string[], ts: Transition[], lines: string[]): void {
  const own = owners(ts);
  const keys: string[] = [];
  for (const id of twins) {
    const held = [...(own.get(id) ?? [])];
    if (held.length === 0) {
      // Not adopted: then it was ended, and the log says so with a reason.
      const said = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => JSON.stringify(l).includes(id) && typeof l.reason === 'string' && l.reason !== '');
      expect(said, `${id} neither adopted nor ended with a reason`).toBeDefined();
      continue;
    }
    expect(held, `${id} held by more than one actor`).toHaveLength(1);
    keys.push(held[0]!);
  }
  // No actor holds both twins.
  expect(new Set(keys).size).toBe(keys.length);
}

describe('two live instances with one dda:key (a retried RunInstances the ClientToken did not dedupe)', () => {
  it('neither the launching daemon nor the next one crashes; each twin has one owner; nothing leaks', async () => {
    const { logger, lines } = captureLogger();
    onTestFailed(() => console.log(lines.slice(-60).join('')));
    const q = new ScriptedQueue();
    q.stages.push({ id: 's1', status: 'pending', demand: DEFAULT_DEMAND, createdAt: Date.now() });

    // — the launching daemon —
    const a = run(q, logger);
    const twins = await waitFor('two live instances with the same dda:key in moto', async () => {
      const live = alive(await ours());
      return live.length === 2 && keyOf(live[0]!) === keyOf(live[1]!) && live;
    });
    expect(proxy.actions.filter((x) => x === 'RunInstances')).toHaveLength(2);
    const key = keyOf(twins[0]!)!;
    const ids = twins.map((i) => i.InstanceId!);
    // The launch succeeded on the retry: the actor holds one twin; the describe shows the other.
    await waitFor('the launch result', () => a.transitions.find((t) => t.key === key && t.instance !== null));
    await waitFor('both twins seen by the launching daemon', () => ids.every((id) => owners(a.transitions).has(id)), 10_000);
    expect(a.errors).toEqual([]);
    expectOneOwnerEach(ids, a.transitions, lines);
    // A restart: the fleet stays as it is.
    await a.daemon.halt();
    expect(alive(await ours()).map((i) => i.InstanceId).sort()).toEqual([...ids].sort());

    // — the next daemon adopts both twins from one describe —
    const b = run(q, logger);
    await waitFor('the next daemon out of adopting', () => b.errors.length > 0 || b.transitions.find((t) => t.machine === 'supervisor' && t.from === 'adopting'));
    expect(b.errors.map(String)).toEqual([]);
    await waitFor('both twins accounted for by the next daemon', () => ids.every((id) => owners(b.transitions).has(id) || lines.some((l) => l.includes(id) && l.includes('"reason"'))), 10_000);
    expectOneOwnerEach(ids, b.transitions, lines);
    expect(b.daemon.supervisor.getSnapshot().status).toBe('active');

    // — the work is done; the daemon stops to zero and nothing is left running —
    q.stages = [];
    await b.daemon.stop({ timeoutMs: 30_000 });
    expect(b.errors).toEqual([]);
    await waitFor('every instance terminated in moto', async () => alive(await ours()).length === 0, 15_000);
  }, 90_000);
});
