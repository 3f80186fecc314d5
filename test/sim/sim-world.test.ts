import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { DdaError } from '../../src/domain/errors.js';
import { DEFAULT_DEMAND } from '../../src/domain/pool.js';
import type { ObservedInstance } from '../../src/ports/cloud-provider.js';
import { VirtualClock } from '../../src/runtime/virtual-clock.js';
import { buildReport, formatReport } from '../../src/sim/report.js';
import { SimWorld, type SimWorldOptions } from '../../src/sim/sim-world.js';
import type { TraceJob } from '../../src/sim/trace.js';

/**
 * The simulated cloud on its own, driven through its ports: a cold launch (VM start, then
 * bootstrap), billing from `running`, parking and starting again, and what disks cost.
 */
const T0 = Date.parse('2024-03-04T00:00:00Z');
const S = 1000;
const PRICE = 0.36; // USD/h: 0.0001 USD a second, so costs are easy to compute by hand.

type Options = Partial<Omit<SimWorldOptions, 'clock' | 'pools' | 'billing'>> & { hourly?: boolean; warmPool?: Record<string, unknown> };

function world(o: Options = {}) {
  const { hourly, warmPool, ...rest } = o;
  const cfg = parseConfig({
    pools: [{ name: 'default', pricePerHour: PRICE, ...(warmPool ? { warmPool } : {}) }],
    planner: { billing: hourly ? { periodSeconds: 3600, minimumSeconds: 3600 } : { periodSeconds: 1, minimumSeconds: 60 } },
  });
  const clock = new VirtualClock(T0);
  const w = new SimWorld({ clock, pools: cfg.pools, billing: cfg.planner.billing, ...rest });
  return { clock, w, cloud: w.cloud, cfg };
}

/** Exact timings, so the tests can say to the millisecond what happens when. */
const exact: Options = {
  vmStartSeconds: [25, 25],
  bootstrapSeconds: [60, 60],
  stopSeconds: [40, 40],
  warmStartSeconds: [20, 20],
  reconnectSeconds: [10, 10],
  agentStartSeconds: 5,
};

const launch = (cloud: SimWorld['cloud'], purpose?: 'work' | 'park') =>
  cloud.launch({ key: `k-${Math.random()}`, pool: 'default', demand: DEFAULT_DEMAND, concurrency: 1, ...(purpose ? { purpose } : {}) });

async function seen(cloud: SimWorld['cloud'], id: string): Promise<ObservedInstance> {
  const i = (await cloud.describe()).instances.find((x) => x.instanceId === id);
  if (!i) throw new Error(`${id} not in the describe`);
  return i;
}

const at = (clock: VirtualClock, seconds: number) => clock.runUntil(T0 + seconds * S);

/** Steps virtual time by 100 ms until `ok` holds; the instant it first held, seconds since `from`. */
async function whenSeen(clock: VirtualClock, cloud: SimWorld['cloud'], id: string, ok: (i: ObservedInstance) => boolean, from: number): Promise<number> {
  for (let n = 0; n < 3000; n++) {
    if (ok(await seen(cloud, id))) return (clock.now() - from) / S;
    await clock.runUntil(clock.now() + 100);
  }
  throw new Error(`${id} never reached the expected state`);
}

async function rejects(p: Promise<unknown>, code: string, text: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DdaError);
  expect((err as DdaError).code).toBe(code);
  expect((err as DdaError).message).toMatch(text);
}

const job = (id: string, atSeconds: number, seconds: number): TraceJob => ({ id, buildId: id, createdAt: T0 + atSeconds * S, durationMs: seconds * S, demand: DEFAULT_DEMAND });

describe('a cold launch: VM start, then bootstrap', () => {
  it('is pending 20–30 s, then running but unregistered 40–90 s more (default ranges, every draw within them, not all alike)', async () => {
    const { clock, cloud } = world({ seed: 3 });
    const vm: number[] = [];
    const boot: number[] = [];
    for (let n = 0; n < 8; n++) {
      const from = clock.now();
      const { instanceId } = await launch(cloud);
      const running = await whenSeen(clock, cloud, instanceId, (i) => i.state === 'running', from);
      expect((await seen(cloud, instanceId)).registered).toBe(false);
      const registered = await whenSeen(clock, cloud, instanceId, (i) => i.registered, from);
      vm.push(running);
      boot.push(registered - running);
    }
    expect(vm.every((s) => s >= 20 && s <= 30.1), `vm: ${vm.join(', ')}`).toBe(true);
    expect(boot.every((s) => s >= 39.9 && s <= 90.1), `boot: ${boot.join(', ')}`).toBe(true);
    expect(new Set(vm).size).toBeGreaterThan(1);
    expect(new Set(boot).size).toBeGreaterThan(1);
  });

  it('the same seed draws the same boots', async () => {
    const timings = async () => {
      const { clock, cloud } = world({ seed: 11 });
      const out: number[] = [];
      for (let n = 0; n < 3; n++) {
        const from = clock.now();
        const { instanceId } = await launch(cloud);
        out.push(await whenSeen(clock, cloud, instanceId, (i) => i.registered, from));
      }
      return out;
    };
    expect(await timings()).toEqual(await timings());
  });

  it('an agent cannot start before the container instance has registered', async () => {
    const { clock, cloud } = world(exact);
    const { instanceId } = await launch(cloud);
    await at(clock, 50); // running since 25 s, bootstrapping until 85 s
    expect((await seen(cloud, instanceId)).state).toBe('running');
    await rejects(cloud.startAgent(instanceId, instanceId, 'default'), 'CLOUD_FAILED', /no registered container instance/);
    await at(clock, 85);
    await cloud.startAgent(instanceId, instanceId, 'default');
    await at(clock, 90);
    expect((await seen(cloud, instanceId)).agent).toBe('running');
  });
});

describe('billing starts when the VM runs', () => {
  it('per second: from running to the terminate, with the 60 s minimum; nothing for an instance ended while pending', async () => {
    const { clock, cloud, w } = world(exact);
    const a = await launch(cloud);
    const b = await launch(cloud);
    const c = await launch(cloud);
    await at(clock, 10);
    await cloud.terminate(c.instanceId); // still pending: never ran, never billed
    await at(clock, 55);
    await cloud.terminate(b.instanceId); // ran 30 s: billed the 60 s minimum
    await at(clock, 125);
    await cloud.terminate(a.instanceId); // ran 100 s
    expect(w.stats.costUsd).toBeCloseTo((60 + 100) * 0.0001, 10);
    expect(w.stats.instanceMs).toBe((30 + 100) * S);
    // The launch time is the request's, as AWS reports it.
    expect(a.launchedAt).toBe(T0);
  });

  it('hourly: a started hour is paid whole, from running', async () => {
    const { clock, cloud, w } = world({ ...exact, hourly: true });
    const a = await launch(cloud);
    await at(clock, 3625); // 3600 s of running
    await cloud.terminate(a.instanceId);
    expect(w.stats.costUsd).toBeCloseTo(PRICE, 10);
    const b = await launch(cloud);
    await at(clock, 3625 + 3626); // 3601 s of running: a second hour
    await cloud.terminate(b.instanceId);
    expect(w.stats.costUsd).toBeCloseTo(PRICE + 2 * PRICE, 10);
  });

  it('finish() bills what still runs', async () => {
    const { clock, cloud, w } = world(exact);
    await launch(cloud);
    await at(clock, 25 + 500);
    w.finish();
    expect(w.stats.costUsd).toBeCloseTo(500 * 0.0001, 10);
  });
});

describe('parking and starting again', () => {
  /** A registered, idle instance with its agent running: at 90 s. */
  async function ready(o: Options = {}) {
    const x = world({ ...exact, ...o });
    const { instanceId } = await launch(x.cloud);
    await at(x.clock, 85);
    await x.cloud.startAgent(instanceId, instanceId, 'default');
    await at(x.clock, 90);
    return { ...x, id: instanceId };
  }

  it('park: stopping 20–60 s unbilled, then stopped; the registration stays, the agent is gone, parkedAt is set', async () => {
    const { clock, cloud, w, id } = await ready();
    await at(clock, 100);
    await cloud.park!(id);
    const stopping = await seen(cloud, id);
    expect(stopping).toMatchObject({ state: 'stopping', registered: true, agent: 'none', draining: false, parkedAt: T0 + 100 * S });
    expect(w.liveInstances).toBe(0);
    expect(w.parkedInstances).toBe(1);
    // Billing stopped when the stop began: 75 s of running.
    expect(w.stats.costUsd).toBeCloseTo(75 * 0.0001, 10);
    await at(clock, 139.9);
    expect((await seen(cloud, id)).state).toBe('stopping');
    await at(clock, 140);
    expect(await seen(cloud, id)).toMatchObject({ state: 'stopped', registered: true, agent: 'none', parkedAt: T0 + 100 * S });
    await at(clock, 5000);
    expect(w.stats.costUsd).toBeCloseTo(75 * 0.0001, 10);
    expect(w.stats.parks).toBe(1);
    // An agent cannot start on a parked instance.
    await rejects(cloud.startAgent(id, id, 'default'), 'CLOUD_FAILED', /no registered container instance/);
  });

  it('default stop times fall within 20–60 s', async () => {
    const { clock, cloud } = world({ seed: 5 });
    const ids: string[] = [];
    for (let n = 0; n < 6; n++) ids.push((await launch(cloud)).instanceId);
    await at(clock, 130);
    const took: number[] = [];
    for (const id of ids) {
      const from = clock.now();
      await cloud.park!(id);
      took.push(await whenSeen(clock, cloud, id, (i) => i.state === 'stopped', from));
    }
    expect(took.every((s) => s >= 20 && s <= 60.1), `took: ${took.join(', ')}`).toBe(true);
    expect(new Set(took).size).toBeGreaterThan(1);
  });

  it('unpark: pending 15–25 s, running (billed, a new minimum) but not usable until the agent host reconnects 5–15 s later', async () => {
    const { clock, cloud, w, id } = await ready();
    await at(clock, 100);
    await cloud.park!(id);
    await at(clock, 1000);
    await cloud.unpark!(id);
    const started = await seen(cloud, id);
    expect(started.state).toBe('pending');
    expect(started.registered).toBe(false);
    expect(started.parkedAt).toBeUndefined();
    expect(started.launchedAt).toBe(T0 + 1000 * S); // AWS reports the start as the launch time
    expect(w.liveInstances).toBe(1);
    expect(w.parkedInstances).toBe(0);
    await at(clock, 1019.9);
    expect((await seen(cloud, id)).state).toBe('pending');
    await at(clock, 1020);
    expect(await seen(cloud, id)).toMatchObject({ state: 'running', registered: false, agent: 'none' });
    await rejects(cloud.startAgent(id, id, 'default'), 'CLOUD_FAILED', /no registered container instance/);
    await at(clock, 1030);
    expect((await seen(cloud, id)).registered).toBe(true);
    await cloud.startAgent(id, id, 'default');
    await at(clock, 1035);
    expect((await seen(cloud, id)).agent).toBe('running');
    // Ran 75 s, then 10 s: each start has its own 60 s minimum.
    await cloud.terminate(id);
    expect(w.stats.costUsd).toBeCloseTo((75 + 60) * 0.0001, 10);
    expect(w.stats.unparks).toBe(1);
  });

  it('default warm starts: the VM within 15–25 s, the agent host 5–15 s after', async () => {
    const { clock, cloud } = world({ seed: 9 });
    const ids: string[] = [];
    for (let n = 0; n < 6; n++) ids.push((await launch(cloud)).instanceId);
    await at(clock, 130);
    for (const id of ids) await cloud.park!(id);
    await at(clock, 200);
    const vm: number[] = [];
    const reconnect: number[] = [];
    for (const id of ids) {
      const from = clock.now();
      await cloud.unpark!(id);
      const running = await whenSeen(clock, cloud, id, (i) => i.state === 'running', from);
      expect((await seen(cloud, id)).registered).toBe(false);
      vm.push(running);
      reconnect.push((await whenSeen(clock, cloud, id, (i) => i.registered, from)) - running);
    }
    expect(vm.every((s) => s >= 15 && s <= 25.1), `vm: ${vm.join(', ')}`).toBe(true);
    expect(reconnect.every((s) => s >= 4.9 && s <= 15.1), `reconnect: ${reconnect.join(', ')}`).toBe(true);
  });

  it('a job runs on a started instance as on a fresh one', async () => {
    const { clock, cloud, w, id } = await ready();
    await at(clock, 100);
    await cloud.park!(id);
    w.load([job('j1', 500, 300)]);
    await at(clock, 500);
    await cloud.unpark!(id);
    await at(clock, 530);
    await cloud.startAgent(id, id, 'default');
    await at(clock, 535);
    expect(w.queueDepth).toEqual({ pending: 0, running: 1 });
    expect(w.stats.waitsMs).toEqual([35 * S]);
    await at(clock, 835);
    expect(w.stats.completed).toBe(1);
  });

  it('refuses to park a busy instance (never stops a build), an unknown or ended one, and one whose container instance has not registered', async () => {
    const { clock, cloud, w, id } = await ready();
    w.load([job('j1', 95, 600)]);
    await at(clock, 100);
    expect(w.queueDepth.running).toBe(1);
    await rejects(cloud.park!(id), 'CLOUD_FAILED', /runs a build/);
    expect((await seen(cloud, id)).state).toBe('running');
    expect(w.stats.killed).toBe(0);

    await rejects(cloud.park!('i-nope'), 'CLOUD_NOT_FOUND', /i-nope not found/);
    await rejects(cloud.unpark!('i-nope'), 'CLOUD_NOT_FOUND', /i-nope not found/);

    const fresh = await launch(cloud);
    await rejects(cloud.park!(fresh.instanceId), 'CLOUD_FAILED', /no registered container instance/); // pending
    await at(clock, 100 + 30);
    expect((await seen(cloud, fresh.instanceId)).state).toBe('running');
    await rejects(cloud.park!(fresh.instanceId), 'CLOUD_FAILED', /no registered container instance/); // bootstrapping

    await cloud.terminate(fresh.instanceId);
    await rejects(cloud.park!(fresh.instanceId), 'CLOUD_NOT_FOUND', /not found/);
    expect(w.stats.parks).toBe(0);
  });

  it('refuses to start an instance still stopping; parking a parked one and starting a started one change nothing', async () => {
    const { clock, cloud, w, id } = await ready();
    await at(clock, 100);
    await cloud.park!(id);
    await rejects(cloud.unpark!(id), 'CLOUD_FAILED', /still stopping/);
    await cloud.park!(id);
    await at(clock, 200);
    await cloud.park!(id);
    expect(await seen(cloud, id)).toMatchObject({ state: 'stopped', parkedAt: T0 + 100 * S });
    await cloud.unpark!(id);
    await cloud.unpark!(id);
    expect(w.stats).toMatchObject({ parks: 1, unparks: 1 });
  });

  it('a drained agent does not carry over: the instance starts ACTIVE, and its next agent takes work', async () => {
    const { clock, cloud, w, id } = await ready({ drainStyle: 'signal' });
    await cloud.drainAgent(id, true);
    expect((await seen(cloud, id)).draining).toBe(true);
    await cloud.park!(id);
    await at(clock, 200);
    await cloud.unpark!(id);
    await at(clock, 230);
    await cloud.startAgent(id, id, 'default');
    w.load([job('j1', 240, 60)]);
    await at(clock, 240);
    expect(w.queueDepth.running).toBe(1);
  });

  it('a start may fail for capacity (a fault, off by default): the instance stays parked', async () => {
    const { clock, cloud, w, id } = await ready({ faults: { unparkCapacityRate: 1 } });
    await cloud.park!(id);
    await at(clock, 200);
    await rejects(cloud.unpark!(id), 'CLOUD_CAPACITY', /InsufficientInstanceCapacity/);
    expect(await seen(cloud, id)).toMatchObject({ state: 'stopped', registered: true, parkedAt: T0 + 90 * S });
    expect(w.stats).toMatchObject({ unparks: 0, unparkFailures: 1 });
    // Ended instead, as the daemon would.
    await cloud.terminate(id);
    expect((await seen(cloud, id)).state).toBe('shutting-down');
  });

  it('an instance launched to be parked says it is priming until parked', async () => {
    const { clock, cloud } = world(exact);
    const p = await launch(cloud, 'park');
    const work = await launch(cloud, 'work');
    expect((await seen(cloud, p.instanceId)).priming).toBe(true);
    expect((await seen(cloud, work.instanceId)).priming).toBeUndefined();
    await at(clock, 50);
    await rejects(cloud.park!(p.instanceId), 'CLOUD_FAILED', /no registered container instance/);
    await at(clock, 85);
    expect(await seen(cloud, p.instanceId)).toMatchObject({ priming: true, registered: true, state: 'running' });
    await cloud.park!(p.instanceId);
    expect((await seen(cloud, p.instanceId)).priming).toBeUndefined();
    // Given work instead of parked: no longer priming either.
    const q = await launch(cloud, 'park');
    await at(clock, 85 + 85);
    await cloud.startAgent(q.instanceId, q.instanceId, 'default');
    expect((await seen(cloud, q.instanceId)).priming).toBeUndefined();
  });
});

describe('storage', () => {
  it('a disk costs GB × USD per GB-month (730 h) from launch to terminate, running or parked, beside compute', async () => {
    const { clock, cloud, w } = world({ ...exact, warmPool: { storageGb: 100, storageUsdPerGbMonth: 0.1 } });
    const { instanceId } = await launch(cloud);
    expect((await seen(cloud, instanceId)).storageGb).toBe(100);
    await at(clock, 85);
    await cloud.park!(instanceId);
    // 73 hours from launch to terminate, 85 s of them running: 73 / 730 × 100 GB × 0.1 USD = 1 USD.
    await at(clock, 73 * 3600);
    await cloud.terminate(instanceId);
    expect(w.stats.storageUsd).toBeCloseTo(1, 10);
    expect(w.stats.costUsd).toBeCloseTo(60 * 0.0001, 10);
    await at(clock, 100 * 3600);
    w.finish();
    expect(w.stats.storageUsd).toBeCloseTo(1, 10);
  });

  it('defaults to 30 GB at 0.08 USD per GB-month; finish() closes the books on disks still there', async () => {
    const { clock, cloud, w } = world(exact);
    const { instanceId } = await launch(cloud);
    expect((await seen(cloud, instanceId)).storageGb).toBe(30);
    await at(clock, 730 * 3600);
    w.finish();
    expect(w.stats.storageUsd).toBeCloseTo(30 * 0.08, 10);
  });

  it('the report shows storage beside compute, and the parks and warm starts', async () => {
    const { clock, cloud, w } = world({ ...exact, warmPool: { storageGb: 100, storageUsdPerGbMonth: 0.1 } });
    const { instanceId } = await launch(cloud);
    await at(clock, 85);
    await cloud.park!(instanceId);
    await at(clock, 7.3 * 3600);
    await cloud.unpark!(instanceId);
    await at(clock, 7.3 * 3600 + 100);
    w.finish();
    const r = buildReport(w.stats, { start: T0, end: T0 + 86_400_000, instancesLeft: w.liveInstances, wallMs: 1, concurrency: 1 });
    expect(r).toMatchObject({ storage_usd: 0.1, parks: 1, unparks: 1, unpark_failures: 0, cost_usd: 0.01 });
    const text = formatReport(r);
    expect(text).toMatch(/^cost\s+0\.01 USD compute \+ 0\.10 USD storage$/m);
    expect(text).toMatch(/^parks \/ warm starts\s+1 \/ 1$/m);
  });
});

describe('simulated cloud settings', () => {
  it('name the two parts of a boot; the old bootSeconds and a reversed range are one-line errors', () => {
    expect(parseConfig({}).simulatedCloud).toMatchObject({ vmStartSeconds: [20, 30], bootstrapSeconds: [40, 90], stopSeconds: [20, 60], warmStartSeconds: [15, 25], reconnectSeconds: [5, 15] });
    expect(() => parseConfig({ simulatedCloud: { bootSeconds: [60, 120] } })).toThrow(/^config: simulatedCloud\.bootSeconds: replaced by vmStartSeconds .* and bootstrapSeconds/);
    expect(() => parseConfig({ simulatedCloud: { stopSeconds: [60, 20] } })).toThrow('config: simulatedCloud.stopSeconds: the first bound is above the second');
  });
});

describe('what a describe answers', () => {
  // Quiet polls ask whether the next describe would answer anything new: the world answers the
  // same list object while nothing it shows changed, and a new one at every change it shows.
  it('the same list while nothing shown changed; a new list, right, at each change (boot, agent, park, start, terminate, gone)', async () => {
    const { clock, cloud } = world(exact);
    const list = async () => (await cloud.describe()).instances;
    const { instanceId: a } = await launch(cloud);
    const { instanceId: b } = await launch(cloud);
    const lists = [await list()];
    const expectNew = async (what: Partial<ObservedInstance>, id = a) => {
      const next = await list();
      expect(next, 'a new list').not.toBe(lists.at(-1));
      expect(next.find((x) => x.instanceId === id)).toMatchObject(what);
      expect(await list(), 'then the same list again').toBe(next);
      lists.push(next);
    };
    expect(await list()).toBe(lists[0]);
    await at(clock, 24);
    expect(await list(), 'nothing changed yet').toBe(lists[0]);
    await at(clock, 25);
    await expectNew({ state: 'running', registered: false });
    await at(clock, 85);
    await expectNew({ registered: true });
    await cloud.startAgent(a, a, 'default');
    await at(clock, 90);
    await expectNew({ agent: 'running' });
    await cloud.park!(a);
    await expectNew({ state: 'stopping', agent: 'none', parkedAt: T0 + 90 * S });
    await at(clock, 130);
    await expectNew({ state: 'stopped' });
    await cloud.unpark!(a);
    const started = await list();
    expect(started.find((x) => x.instanceId === a)).toMatchObject({ state: 'pending' });
    expect(started.find((x) => x.instanceId === a)!.parkedAt).toBeUndefined();
    lists.push(started);
    await cloud.terminate(b);
    await expectNew({ state: 'shutting-down' }, b);
    await at(clock, 3000);
    expect((await list()).find((x) => x.instanceId === b)).toMatchObject({ state: 'terminated' });
    lists.push(await list());
    // AWS keeps a terminated instance listed for about an hour.
    await at(clock, 3000 + 3600);
    const gone = await list();
    expect(gone).not.toBe(lists.at(-1));
    expect(gone.map((x) => x.instanceId)).toEqual([a]);
  });
});
