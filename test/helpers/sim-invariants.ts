import fc from 'fast-check';
import { parseConfig, type Config } from '../../src/config/config.js';
import { DEFAULT_DEMAND, type Demand } from '../../src/domain/pool.js';
import type { Decision } from '../../src/planner/types.js';
import type { Daemon } from '../../src/runtime/daemon.js';
import type { Transition } from '../../src/runtime/lifecycle-log.js';
import type { SimFaults, SimWorld } from '../../src/sim/sim-world.js';
import { simulate } from '../../src/sim/simulate.js';
import type { TraceJob } from '../../src/sim/trace.js';
import { fleetOf, liveCount } from '../../machines/supervisor/selectors.js';

/**
 * Random scenarios for the simulator and the six invariants of issue 5, checked after every
 * simulated instant and at the end. A scenario is plain data in minutes, so fast-check prints
 * a shrunk counterexample that reads like a test case.
 */
export interface Scenario {
  seed: number;
  pools: { min: number; max: number; concurrency: number }[];
  maxInstances: number;
  /** Budget in instances' worth of spend per hour. */
  budgetInstances: number;
  hourly: boolean;
  warmBuffer: number;
  drainTimeoutMin: number;
  jobs: { atMin: number; minutes: number; pool: number }[];
  faults: {
    launchErrorRate: number;
    launchErrorCodes: ('CLOUD_CAPACITY' | 'CLOUD_LIMIT' | 'CLOUD_THROTTLED')[];
    neverRegisterRate: number;
    agentDeathRate: number;
    spotPerHour: number;
    outages: [number, number][];
    garbage: [number, number][];
    slowQueuePollRate: number;
    laggingDescribeRate: number;
  };
  restartsMin: number[];
}

const window = fc.tuple(fc.integer({ min: 0, max: 240 }), fc.integer({ min: 1, max: 45 }));

export function scenarioArb(o: { restarts: { min: number; max: number }; faults: boolean }): fc.Arbitrary<Scenario> {
  const rate = (max: number) => (o.faults ? fc.oneof(fc.constant(0), fc.double({ min: 0.05, max, noNaN: true })) : fc.constant(0));
  return (fc.record({
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    pools: fc.array(fc.record({ min: fc.integer({ min: 0, max: 1 }), max: fc.integer({ min: 1, max: 4 }), concurrency: fc.integer({ min: 1, max: 2 }) }), { minLength: 1, maxLength: 2 }),
    maxInstances: fc.integer({ min: 1, max: 6 }),
    budgetInstances: fc.integer({ min: 1, max: 8 }),
    hourly: fc.boolean(),
    warmBuffer: fc.integer({ min: 0, max: 1 }),
    drainTimeoutMin: fc.integer({ min: 10, max: 60 }),
    jobs: fc.array(fc.record({ atMin: fc.integer({ min: 0, max: 180 }), minutes: fc.integer({ min: 1, max: 8 }), pool: fc.integer({ min: 0, max: 1 }) }), { minLength: 1, maxLength: 30 }),
    faults: fc.record({
      launchErrorRate: rate(0.5),
      launchErrorCodes: fc.subarray(['CLOUD_CAPACITY', 'CLOUD_LIMIT', 'CLOUD_THROTTLED'] as const, { minLength: 1 }).map((a) => [...a]),
      neverRegisterRate: rate(0.3),
      agentDeathRate: rate(0.5),
      spotPerHour: rate(1),
      outages: o.faults ? fc.array(window, { maxLength: 2 }) : fc.constant([] as [number, number][]),
      garbage: o.faults ? fc.array(window, { maxLength: 1 }) : fc.constant([] as [number, number][]),
      slowQueuePollRate: rate(0.3),
      laggingDescribeRate: rate(0.4),
    }),
    restartsMin: fc.array(fc.integer({ min: 1, max: 240 }), { minLength: o.restarts.min, maxLength: o.restarts.max }),
  }) as fc.Arbitrary<Scenario>).map((s) => {
    // Room for every pool: when the other pools' minimums fill the fleet max or the budget, a
    // pool without a minimum starves by configuration, not by a fault of the daemon.
    const pools = s.pools.map((p) => ({ ...p, min: Math.min(p.min, p.max) }));
    const mins = pools.reduce((n, p) => n + p.min, 0);
    return { ...s, pools, maxInstances: Math.max(s.maxInstances, mins + 1), budgetInstances: Math.max(s.budgetInstances, mins + 1) } as Scenario;
  });
}

const T0 = Date.UTC(2025, 10, 3, 8, 0, 0);
const MIN = 60_000;
const PRICE = 0.17;
const DEMANDS: Demand[] = [DEFAULT_DEMAND, { ...DEFAULT_DEMAND, arch: 'arm64' }];
const ALIVE = new Set(['pending', 'running', 'stopping', 'stopped']);

export function configOf(s: Scenario): Config {
  return parseConfig({
    pools: s.pools.map((p, n) => ({ name: n === 0 ? 'amd' : 'arm', demand: DEMANDS[n], min: p.min, max: p.max, concurrency: p.concurrency, pricePerHour: PRICE })),
    planner: {
      billing: s.hourly ? { periodSeconds: 3600, minimumSeconds: 60 } : { periodSeconds: 1, minimumSeconds: 60 },
      maxInstances: s.maxInstances,
      budgetPerHour: s.budgetInstances * PRICE,
      warmBuffer: s.warmBuffer,
    },
    lifecycle: { drainTimeoutSeconds: s.drainTimeoutMin * 60 },
  });
}

export function jobsOf(s: Scenario): TraceJob[] {
  return s.jobs.map((j, n) => ({ id: `j${n}`, buildId: `b${n}`, createdAt: T0 + j.atMin * MIN, durationMs: j.minutes * MIN, demand: DEMANDS[Math.min(j.pool, s.pools.length - 1)]! }));
}

const windows = (w: [number, number][]) => w.map(([a, len]) => [T0 + a * MIN, T0 + (a + len) * MIN] as const);

export function faultsOf(s: Scenario): SimFaults {
  const f = s.faults;
  return {
    launchErrorRate: f.launchErrorRate,
    launchErrorCodes: f.launchErrorCodes,
    neverRegisterRate: f.neverRegisterRate,
    agentDeathRate: f.agentDeathRate,
    spotInterruptionsPerHour: f.spotPerHour,
    queueOutages: windows(f.outages),
    queueGarbage: windows(f.garbage),
    slowQueuePollRate: f.slowQueuePollRate,
    laggingDescribeRate: f.laggingDescribeRate,
  };
}

export interface RunTotals {
  runs: number;
  steps: number;
  decisions: number;
  launches: number;
  launchFailures: number;
  interruptions: number;
  killed: number;
  restarts: number;
  jobs: number;
}
export const totals: RunTotals = { runs: 0, steps: 0, decisions: 0, launches: 0, launchFailures: 0, interruptions: 0, killed: 0, restarts: 0, jobs: 0 };

class Violation extends Error {}

/** Run one scenario through the real daemon on the simulator; returns the violations found (empty when all hold). */
export async function checkScenario(s: Scenario, trace?: (line: string) => void): Promise<string[]> {
  const config = configOf(s);
  const jobs = jobsOf(s);
  const rt = config.runtime;
  const pl = config.planner;
  const lc = config.lifecycle;
  const poolCfg = new Map(config.pools.map((p) => [p.name, p]));
  const outageWindows = [...windows(s.faults.outages), ...windows(s.faults.garbage)];
  const restarts = s.restartsMin.map((m) => T0 + m * MIN).sort((a, b) => a - b);

  // Slack for the daemon to see and act: a queue poll that fails through its retries, a tick, a fleet poll.
  const pollCycleMs = (rt.pollTimeoutSeconds * (rt.pollRetries + 1) + rt.retryBaseSeconds * (2 ** rt.pollRetries - 1)) * 1000;
  const W = rt.queuePollSeconds * 1000 + pollCycleMs + rt.tickSeconds * 1000 + rt.fleetPollSeconds * 1000 + 30_000;
  // Invariant 3's bound: a paid period (or the minimum), the idle grace, the drain deadline (or
  // the boot deadline of an instance that never registers, whichever is longer), and the slack.
  const periodMs = (pl.billing.periodSeconds > 1 ? pl.billing.periodSeconds : pl.billing.minimumSeconds) * 1000;
  const emptyBoundMs = periodMs + pl.idleGraceSeconds * 1000 + Math.max(lc.drainTimeoutSeconds, lc.bootTimeoutSeconds) * 1000 + 2 * W;

  const violations: string[] = [];
  const fail = (now: number, msg: string) => {
    if (violations.length < 5) violations.push(`${Number.isNaN(now) ? 'at the end' : `t+${((now - T0) / MIN).toFixed(2)} min`}: ${msg}`);
  };
  let daemon: Daemon | null = null;
  let clockNow = () => NaN;
  let lastWorld = '';
  const stamp = (now: number) => `t+${((now - T0) / MIN).toFixed(2)}`;
  /** Instance actor key → its last state and pool, for the current daemon. */
  const actors = new Map<string, { state: string; pool: string | null }>();
  const lastLaunchAt = new Map<string, number>();
  let emptySince: number | null = null;
  const starvedSince = new Map<string, number>();
  const backoffAt = new Map<string, number>();
  const drainingSince = new Map<string, number>();
  const inOutage = (from: number, to: number) => outageWindows.some(([a, b]) => a < to && b > from);
  const lastRestartBefore = (now: number) => restarts.filter((r) => r <= now).at(-1) ?? -Infinity;

  const onTransition = (t: Transition) => {
    trace?.(`${stamp(clockNow())} ${t.machine} ${t.key} ${t.instance ?? ''} ${t.from} -> ${t.to} on ${t.event}: ${t.reason}`);
    if (t.machine !== 'instance') return;
    actors.set(t.key, { state: t.to, pool: t.pool });
    // 2. A running build only ends by force, and that is logged as forced.
    if (t.from === 'task-running.busy' && t.to !== 'task-running.idle' && !t.forced) fail(clockNow(), `${t.key} left a running build (${t.from} → ${t.to} on ${t.event}) without force: ${t.reason}`);
  };
  const onDecision = (d: Decision, now: number) => {
    totals.decisions++;
    if (d.kind !== 'hold') trace?.(`${stamp(now)} decision ${JSON.stringify(d)}`);
    const sup = daemon?.supervisor.getSnapshot();
    const q = sup?.context.queue;
    // A pool whose launches keep failing is backed off on purpose, with a reason.
    if (d.kind === 'hold' && d.code === 'launch-backoff') backoffAt.set(d.pool, now);
    if (d.kind === 'launch') {
      lastLaunchAt.set(d.pool, now);
      // 6. Nothing is launched while the queue is unknown (to the daemon, or in truth for long enough to know).
      if (q && !q.known) fail(now, `launch of ${d.count} in ${d.pool} while the queue is unknown`);
      if (outageWindows.some(([a, b]) => now >= a + W && now < b)) fail(now, `launch of ${d.count} in ${d.pool} during a CI outage`);
    }
    if (d.kind === 'drain') {
      // 2. Only idle agents (or boots nothing can run on yet) are drained by a decision.
      const a = actors.get(d.key);
      if (!a || (a.state !== 'task-running.idle' && a.state !== 'booting.instance')) fail(now, `drain decided for ${d.key} in ${a?.state ?? 'no known state'} (${d.reason})`);
      // 6. Nothing is drained for lack of work while the queue is unknown, except the drain to zero after the blind hold.
      if (q && !q.known) {
        const blindLong = now - q.since >= pl.blindHoldSeconds * 1000;
        if (!blindLong || !/queue unknown .*draining to zero/.test(d.reason)) fail(now, `drain of ${d.key} while the queue is unknown: ${d.reason}`);
      }
    }
  };

  const onStep = (world: SimWorld, now: number) => {
    totals.steps++;
    if (trace) {
      const w = JSON.stringify([world.queueDepth, world.instanceStates().map((i) => `${i.id}:${i.state}${i.busy ? ':busy' : ''}${i.interrupted ? ':interrupted' : ''}`)]);
      if (w !== lastWorld) trace(`${stamp(now)} world ${(lastWorld = w)}`);
    }
    const insts = world.instanceStates().filter((i) => ALIVE.has(i.state));
    for (const i of insts) if (i.draining && !drainingSince.has(i.id)) drainingSince.set(i.id, now);
    // 1. Pool max, fleet max, budget.
    const byPool = new Map<string, number>();
    for (const i of insts) byPool.set(i.pool, (byPool.get(i.pool) ?? 0) + 1);
    for (const [pool, n] of byPool) if (n > poolCfg.get(pool)!.max) fail(now, `${n} instances in pool ${pool} (max ${poolCfg.get(pool)!.max})`);
    if (insts.length > pl.maxInstances) fail(now, `${insts.length} instances in the fleet (max ${pl.maxInstances})`);
    const spend = insts.reduce((sum, i) => sum + i.pricePerHour, 0);
    if (spend > pl.budgetPerHour + 1e-9) fail(now, `spending ${spend.toFixed(2)} USD/h (budget ${pl.budgetPerHour.toFixed(2)})`);
    // 2. No build killed by a decision.
    if (world.stats.killedByDecision > 0) fail(now, `${world.stats.killedByDecision} build(s) killed by a decision`);

    // 3. Empty (and visible) long enough: at the minimum.
    const q = world.queueDepth;
    if (q.pending + q.running === 0 && !inOutage(now, now + 1)) emptySince ??= now;
    else emptySince = null;
    if (emptySince !== null && now - Math.max(emptySince, lastRestartBefore(now)) > emptyBoundMs) {
      // A spot instance under interruption is the cloud's to end (within two minutes), and an
      // instance draining (an agent died under a minimum instance, say) ends within its drain
      // deadline; their replacements keep the pool's minimum. Neither is counted here until
      // that deadline (plus slack) has passed: a drain that never ends is still caught.
      const kept = new Map<string, number>();
      for (const i of insts) {
        const leaving = i.interrupted || (i.draining && now - drainingSince.get(i.id)! <= lc.drainTimeoutSeconds * 1000 + W);
        if (!leaving) kept.set(i.pool, (kept.get(i.pool) ?? 0) + 1);
      }
      for (const [pool, n] of kept) if (n > poolCfg.get(pool)!.min) fail(now, `queue empty for ${Math.round((now - emptySince) / MIN)} min but pool ${pool} has ${n} instances (min ${poolCfg.get(pool)!.min})`);
    }

    // 5. No job waits while its pool could grow and nothing launches for it: such a moment may
    // last a tick or a poll (a slot frees between two plans), never longer than the slack W.
    const oldest = new Map<string, number>();
    for (const j of world.pendingJobs()) if (j.pool && !oldest.has(j.pool)) oldest.set(j.pool, j.createdAt);
    for (const pool of poolCfg.keys()) {
      const createdAt = oldest.get(pool);
      const cfg = poolCfg.get(pool)!;
      if (createdAt === undefined) {
        starvedSince.delete(pool);
        continue;
      }
      const live = [...actors.values()].filter((a) => a.state !== 'terminated');
      const mine = live.filter((a) => a.pool === pool);
      const exempt =
        (byPool.get(pool) ?? 0) >= cfg.max ||
        mine.length >= cfg.max ||
        insts.length >= pl.maxInstances ||
        live.length >= pl.maxInstances ||
        Math.max(spend, live.length * PRICE) + cfg.pricePerHour > pl.budgetPerHour + 1e-9 ||
        mine.some((a) => a.state.startsWith('requested') || a.state.startsWith('booting')) ||
        now - (lastLaunchAt.get(pool) ?? -Infinity) <= rt.tickSeconds * 1000 ||
        now - (backoffAt.get(pool) ?? -Infinity) <= rt.tickSeconds * 1000 ||
        inOutage(now - W, now + 1) ||
        daemon?.supervisor.getSnapshot().context.queue.known === false;
      if (exempt) {
        starvedSince.delete(pool);
        continue;
      }
      const since = starvedSince.get(pool) ?? now;
      starvedSince.set(pool, since);
      if (now - since > W && now - lastRestartBefore(now) > W)
        fail(now, `a job of pool ${pool} has waited ${Math.round((now - createdAt) / 1000)} s, ${Math.round((now - since) / 1000)} s of it with room in the pool and nothing launching`);
    }
    if (violations.length > 0) throw new Violation(violations.join('\n'));
  };

  const lastArrival = Math.max(...jobs.map((j) => j.createdAt));
  try {
    const { world } = await simulate({
      jobs,
      start: T0,
      // Run at least long enough after the last event for invariant 3 to apply.
      end: Math.max(lastArrival + Math.max(...jobs.map((j) => j.durationMs)), ...restarts, ...outageWindows.map(([, b]) => b)) + emptyBoundMs + W,
      tailMs: 8 * 3_600_000,
      config,
      world: { seed: s.seed, faults: faultsOf(s), ...(s.faults.spotPerHour > 0 ? { market: 'spot' as const } : {}) },
      restartsAt: restarts,
      onTransition,
      onDecision,
      onStep,
      onClock: (c) => (clockNow = () => c.now()),
      onDaemon: (d) => {
        trace?.(`${stamp(clockNow())} daemon started`);
        daemon = d;
        actors.clear();
      },
      beforeHalt: (d, world) => {
        // 4. Nothing leaks: every instance still alive is owned by a live actor of the last daemon.
        const snap = d.supervisor.getSnapshot();
        const owned = new Set<string>();
        for (const v of fleetOf(snap)) if (v.instanceId) owned.add(v.instanceId);
        for (const i of world.instanceStates()) if (ALIVE.has(i.state) && !owned.has(i.id)) fail(NaN, `instance ${i.id} (${i.state}, key ${i.key}) is alive and owned by no actor`);
        // The supervisor's fleet mirrors its actors: one view per live child, naming the same instance.
        const children = snap.children as Record<string, { getSnapshot(): { status: string; context: { instanceId: string | null } } } | undefined>;
        if (liveCount(snap) !== Object.keys(children).length) fail(NaN, `supervisor keeps ${liveCount(snap)} views but has ${Object.keys(children).length} actors`);
        for (const v of fleetOf(snap)) {
          const c = children[v.key]?.getSnapshot();
          if (!c || c.status !== 'active') fail(NaN, `view ${v.key} has no live actor`);
          else if (c.context.instanceId !== v.instanceId) fail(NaN, `view ${v.key} names ${v.instanceId}, its actor ${c.context.instanceId}`);
        }
      },
    });
    totals.runs++;
    totals.launches += world.stats.launches;
    totals.launchFailures += world.stats.launchFailures;
    totals.interruptions += world.stats.interruptions;
    totals.killed += world.stats.killed;
    totals.restarts += restarts.length;
    totals.jobs += world.stats.jobs;
    // 5. Every job ran to completion (a build killed by force is requeued and runs again).
    if (world.stats.completed !== world.stats.jobs) fail(NaN, `${world.stats.jobs - world.stats.completed} of ${world.stats.jobs} jobs never completed`);
    // 3/4 at the end: the fleet wound down to its minimum.
    const left = world.instanceStates().filter((i) => ALIVE.has(i.state));
    for (const p of config.pools) {
      const n = left.filter((i) => i.pool === p.name).length;
      if (n > p.min) fail(NaN, `at the end pool ${p.name} still has ${n} instances (min ${p.min})`);
    }
  } catch (e) {
    if (!(e instanceof Violation)) throw e;
  }
  return violations;
}
