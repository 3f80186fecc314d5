import fc from 'fast-check';
import { parseConfig, type Config } from '../../src/config/config.js';
import { DEFAULT_DEMAND, type Demand } from '../../src/domain/pool.js';
import type { SimFaults } from '../../src/sim/sim-world.js';
import type { TraceJob } from '../../src/sim/trace.js';

/**
 * A fault scenario for the simulator: a short random trace (a few hours, one or two pools, up
 * to 30 jobs), its settings, a seed and a mix of faults. Plain data in minutes from the start,
 * so a shrunk counterexample reads like a test case and can be pasted into
 * test/properties/regressions.test.ts.
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
  /** Daemon restarts (minutes); with `more.replicas`, kills of the active replica instead. */
  restartsMin: number[];
  /** The soak's fault kinds on top of the property tests' (absent: none of them). */
  more?: MoreFaults;
}

export interface MoreFaults {
  /** Fraction of launches the cloud answers with a second instance carrying the same key (a retry that ignored the ClientToken). */
  duplicateLaunchRate: number;
  /** Cloud blindness: windows [start, length] in which every describe fails. */
  describeOutages: [number, number][];
  /** Fraction of cloud calls and queue polls that never answer (half of them after the cloud has acted). */
  hangRate: number;
  /** Windows [start, length] in which every cloud call is refused as throttled (RequestLimitExceeded). */
  throttles: [number, number][];
  /** Minutes at which a spot interruption hits an instance running a build (if one does). */
  midBuildInterruptionsMin: number[];
  /** Restarted daemons find the last one's launch intents (a lease store); otherwise they hold launches for the settling grace. */
  launchIntents: boolean;
  /** Two replicas on one world and one in-memory lease store; `restartsMin` kills the active one (no release) and starts a new process. */
  replicas: boolean;
}

/** Every fault kind a scenario can carry, as the soak counts them. */
export const FAULT_KINDS = [
  'launch-errors',
  'throttled-launches',
  'never-registers',
  'agent-deaths',
  'spot-interruptions',
  'ci-outages',
  'ci-garbage',
  'slow-queue-polls',
  'lagging-describes',
  'restarts',
  'restarts-with-intents',
  'duplicate-keys',
  'two-daemons',
  'replica-killed-mid-flight',
  'cloud-blindness',
  'calls-never-answer',
  'throttling',
  'interruptions-mid-build',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export function faultKindsOf(s: Scenario): FaultKind[] {
  const f = s.faults;
  const m = s.more;
  const k: FaultKind[] = [];
  const on = (cond: unknown, kind: FaultKind) => cond && k.push(kind);
  on(f.launchErrorRate > 0, 'launch-errors');
  on(f.launchErrorRate > 0 && f.launchErrorCodes.includes('CLOUD_THROTTLED'), 'throttled-launches');
  on(f.neverRegisterRate > 0, 'never-registers');
  on(f.agentDeathRate > 0, 'agent-deaths');
  on(f.spotPerHour > 0, 'spot-interruptions');
  on(f.outages.length > 0, 'ci-outages');
  on(f.garbage.length > 0, 'ci-garbage');
  on(f.slowQueuePollRate > 0, 'slow-queue-polls');
  on(f.laggingDescribeRate > 0, 'lagging-describes');
  on(s.restartsMin.length > 0 && !m?.replicas, 'restarts');
  on(s.restartsMin.length > 0 && !m?.replicas && m?.launchIntents, 'restarts-with-intents');
  on(m && m.duplicateLaunchRate > 0, 'duplicate-keys');
  on(m?.replicas, 'two-daemons');
  on(m?.replicas && s.restartsMin.length > 0, 'replica-killed-mid-flight');
  on(m && m.describeOutages.length > 0, 'cloud-blindness');
  on(m && m.hangRate > 0, 'calls-never-answer');
  on(m && m.throttles.length > 0, 'throttling');
  on(m && m.midBuildInterruptionsMin.length > 0, 'interruptions-mid-build');
  return k;
}

const window = (maxLen = 45, maxStart = 240) => fc.tuple(fc.integer({ min: 0, max: maxStart }), fc.integer({ min: 1, max: maxLen }));
const rateOf = (on: boolean, max: number) => (on ? fc.oneof(fc.constant(0), fc.double({ min: 0.05, max, noNaN: true })) : fc.constant(0));

/** `horizonMin`: jobs arrive within it, and fault windows and restarts start within an hour past it (default 180). */
export function scenarioArb(o: { restarts: { min: number; max: number }; faults: boolean; horizonMin?: number }): fc.Arbitrary<Scenario> {
  const rate = (max: number) => rateOf(o.faults, max);
  const h = o.horizonMin ?? 180;
  return (fc.record({
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    pools: fc.array(fc.record({ min: fc.integer({ min: 0, max: 1 }), max: fc.integer({ min: 1, max: 4 }), concurrency: fc.integer({ min: 1, max: 2 }) }), { minLength: 1, maxLength: 2 }),
    maxInstances: fc.integer({ min: 1, max: 6 }),
    budgetInstances: fc.integer({ min: 1, max: 8 }),
    hourly: fc.boolean(),
    warmBuffer: fc.integer({ min: 0, max: 1 }),
    drainTimeoutMin: fc.integer({ min: 10, max: 60 }),
    jobs: fc.array(fc.record({ atMin: fc.integer({ min: 0, max: h }), minutes: fc.integer({ min: 1, max: 8 }), pool: fc.integer({ min: 0, max: 1 }) }), { minLength: 1, maxLength: 30 }),
    faults: fc.record({
      launchErrorRate: rate(0.5),
      launchErrorCodes: fc.subarray(['CLOUD_CAPACITY', 'CLOUD_LIMIT', 'CLOUD_THROTTLED'] as const, { minLength: 1 }).map((a) => [...a]),
      neverRegisterRate: rate(0.3),
      agentDeathRate: rate(0.5),
      spotPerHour: rate(1),
      outages: o.faults ? fc.array(window(45, h + 60), { maxLength: 2 }) : fc.constant([] as [number, number][]),
      garbage: o.faults ? fc.array(window(45, h + 60), { maxLength: 1 }) : fc.constant([] as [number, number][]),
      slowQueuePollRate: rate(0.3),
      laggingDescribeRate: rate(0.4),
    }),
    restartsMin: fc.array(fc.integer({ min: 1, max: h + 60 }), { minLength: o.restarts.min, maxLength: o.restarts.max }),
  }) as fc.Arbitrary<Scenario>).map(roomForEveryPool);
}

/** The soak's fault mix: each kind present or not, independently, so the mixes vary. */
export function moreFaultsArb(horizonMin: number): fc.Arbitrary<MoreFaults> {
  const h = horizonMin;
  const some = <T>(arb: fc.Arbitrary<T[]>, none: T[]) => fc.oneof(fc.constant(none), arb);
  return fc.record({
    duplicateLaunchRate: rateOf(true, 0.3),
    describeOutages: some(fc.array(window(30, h + 30), { minLength: 1, maxLength: 2 }), [] as [number, number][]),
    hangRate: rateOf(true, 0.1),
    throttles: some(fc.array(window(20, h + 30), { minLength: 1, maxLength: 2 }), [] as [number, number][]),
    midBuildInterruptionsMin: some(fc.array(fc.integer({ min: 1, max: h + 30 }), { minLength: 1, maxLength: 3 }), [] as number[]),
    launchIntents: fc.boolean(),
    replicas: fc.boolean(),
  });
}

/**
 * A soak scenario: the property tests' scenario (0–2 restarts) with the soak's fault mix, on a
 * shorter horizon (jobs within the first hour): ten thousand of them must fit in minutes.
 */
export const SOAK_HORIZON_MIN = 60;
export function soakArb(): fc.Arbitrary<Scenario> {
  return fc.tuple(scenarioArb({ restarts: { min: 0, max: 2 }, faults: true, horizonMin: SOAK_HORIZON_MIN }), moreFaultsArb(SOAK_HORIZON_MIN)).map(([s, more]) => ({ ...s, more }));
}

/**
 * Room for every pool: when the other pools' minimums fill the fleet max or the budget, a pool
 * without a minimum starves by configuration, not by a fault of the daemon.
 */
function roomForEveryPool(s: Scenario): Scenario {
  const pools = s.pools.map((p) => ({ ...p, min: Math.min(p.min, p.max) }));
  const mins = pools.reduce((n, p) => n + p.min, 0);
  return { ...s, pools, maxInstances: Math.max(s.maxInstances, mins + 1), budgetInstances: Math.max(s.budgetInstances, mins + 1) };
}

/** Scenario `k` of the soak seeded `seed`: the same scenario on every machine and in every worker. */
export function soakSeedOf(seed: number, k: number): number {
  // Distinct, well spread 32-bit seeds per (seed, k): a multiplicative hash of both.
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(k + 1, 0xc2b2ae35)) | 0;
}

export function soakScenario(seed: number, k: number): Scenario {
  return fc.sample(soakArb(), { seed: soakSeedOf(seed, k), numRuns: 1 })[0]!;
}

export const T0 = Date.UTC(2025, 10, 3, 8, 0, 0);
export const MIN = 60_000;
export const PRICE = 0.17;
const DEMANDS: Demand[] = [DEFAULT_DEMAND, { ...DEFAULT_DEMAND, arch: 'arm64' }];

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

export const windowsOf = (w: readonly [number, number][]) => w.map(([a, len]) => [T0 + a * MIN, T0 + (a + len) * MIN] as const);

export function faultsOf(s: Scenario): SimFaults {
  const f = s.faults;
  return {
    launchErrorRate: f.launchErrorRate,
    launchErrorCodes: f.launchErrorCodes,
    neverRegisterRate: f.neverRegisterRate,
    agentDeathRate: f.agentDeathRate,
    spotInterruptionsPerHour: f.spotPerHour,
    queueOutages: windowsOf(f.outages),
    queueGarbage: windowsOf(f.garbage),
    slowQueuePollRate: f.slowQueuePollRate,
    laggingDescribeRate: f.laggingDescribeRate,
  };
}
