import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { parseConfig, type Config, type PlannerConfig, type PoolConfig } from '../src/config/config.js';
import { waitStats } from '../src/sim/report.js';
import { simulate } from '../src/sim/simulate.js';
import type { SimWorld } from '../src/sim/sim-world.js';
import { readTrace, traceSpan, traceWindow, type TraceJob } from '../src/sim/trace.js';
import { peerPolicy, runPolicy, type PeerSpec } from '../src/sim/peers/index.js';
import { Sampler, type SeriesPoint } from './sampler.js';

export type Billing = 'second' | 'hour';

export type PolicySpec =
  | {
      kind: 'ours';
      idleGraceSeconds?: number;
      warmBuffer?: number;
      renewalWindowSeconds?: number;
      /** Parked instances per pool (`warmPool.size`): a number, or 'auto' (sized from the arrivals seen to meet the wait target). */
      warmPool?: number | 'auto';
      /** With `warmPool: 'auto'`: the p95 wait to aim for (`warmPool.waitTargetSeconds`). */
      waitTargetSeconds?: number;
      /** Runtime cadence overrides (seconds), for what-if runs. */
      runtime?: { queuePollSeconds?: number; fleetPollSeconds?: number; tickSeconds?: number };
    }
  | PeerSpec;

export interface RunSpec {
  id: string;
  label: string;
  /** 'default': a table row; 'sweep': a point of our knob curves (warm pool size among them). */
  group: 'default' | 'sweep';
  policy: PolicySpec;
  concurrency: number;
  billing: Billing;
  trace: string;
  days?: number;
  /** Days to skip from the trace's first midnight: tune on one part of a trace, check on another. */
  fromDay?: number;
  seed: number;
  price: number;
  busyDay: [number, number] | null;
}

export interface Metrics {
  /** What the operator pays: compute plus storage (disks of running and parked instances). */
  cost_usd: number;
  /** Compute only: instances billed from `running` to the start of their stop or terminate. */
  compute_usd: number;
  /** Disks (GB-months), running and parked alike. */
  storage_usd: number;
  /** Compute hours billed (compute_usd / price). */
  paid_hours: number;
  instance_hours: number;
  utilisation: number;
  wait_p50_s: number;
  wait_p95_s: number;
  wait_p99_s: number;
  wait_max_s: number;
  jobs: number;
  jobs_completed: number;
  jobs_killed: number;
  launches: number;
  /** Starts of a parked instance (a warm start instead of a cold boot). */
  warm_starts: number;
  peak_instances: number;
  idle_empty_hours: number;
}

export interface RunResult {
  spec: RunSpec;
  metrics: Metrics;
  series: SeriesPoint[];
  simDays: number;
  wallMs: number;
}

export const BILLING: Record<Billing, PlannerConfig['billing']> = {
  second: { periodSeconds: 1, minimumSeconds: 60 },
  hour: { periodSeconds: 3600, minimumSeconds: 3600 },
};

const traces = new Map<string, TraceJob[]>();
export function loadWindow(path: string, days?: number, fromDay?: number): { jobs: TraceJob[]; start: number; end: number } {
  let all = traces.get(path);
  if (!all) traces.set(path, (all = readTrace(path)));
  const from = fromDay !== undefined ? traceSpan(all).start + fromDay * 86_400_000 : undefined;
  return traceWindow(all, { ...(days !== undefined ? { days } : {}), ...(from !== undefined ? { from } : {}) });
}

export { peakAgents, peerPolicy } from '../src/sim/peers/index.js';

/** Our daemon's config for a spec: the pool (with its warm pool, if any), the planner knobs, the runtime cadence. */
export function oursConfig(p: Extract<PolicySpec, { kind: 'ours' }>, concurrency: number, billing: Billing, price: number): Config {
  const { kind: _kind, runtime, warmPool, waitTargetSeconds, ...knobs } = p;
  const warm = { ...(warmPool !== undefined ? { size: warmPool } : {}), ...(waitTargetSeconds !== undefined ? { waitTargetSeconds } : {}) };
  return parseConfig({
    pools: [{ name: 'default', concurrency, pricePerHour: price, ...(Object.keys(warm).length ? { warmPool: warm } : {}) }],
    planner: { billing: BILLING[billing], ...knobs },
    ...(runtime ? { runtime } : {}),
  });
}

/** Replay the trace through one policy (ours through the real daemon) and measure it. */
export async function runSpec(spec: RunSpec): Promise<RunResult> {
  return runWindow(spec, loadWindow(spec.trace, spec.days, spec.fromDay));
}

/** As runSpec, on jobs already loaded (the spec's trace and days are not read). */
export async function runWindow(spec: RunSpec, w: { jobs: readonly TraceJob[]; start: number; end: number }): Promise<RunResult> {
  const t0 = performance.now();
  const sampler = new Sampler(spec.busyDay);
  const billing = BILLING[spec.billing];
  const pool: PoolConfig = parseConfig({ pools: [{ name: 'default', concurrency: spec.concurrency, pricePerHour: spec.price }] }).pools[0]!;
  let world: SimWorld;
  if (spec.policy.kind === 'ours') {
    const r = await simulate({
      jobs: w.jobs,
      start: w.start,
      end: w.end,
      config: oursConfig(spec.policy, spec.concurrency, spec.billing, spec.price),
      logger: pino({ level: 'silent' }),
      world: { seed: spec.seed, pricePerHour: spec.price },
      onStep: (wd, now) => sampler.sample(wd, now),
    });
    world = r.world;
  } else {
    world = await runPolicy({ policy: peerPolicy(spec.policy, spec.concurrency), jobs: w.jobs, start: w.start, end: w.end, pool, billing, seed: spec.seed, pricePerHour: spec.price, onStep: (wd, now) => sampler.sample(wd, now) });
  }
  const s = world.stats;
  const paidHours = s.costUsd / spec.price;
  const r2 = (n: number) => Math.round(n * 100) / 100;
  const r4 = (n: number) => Math.round(n * 10_000) / 10_000;
  const metrics: Metrics = {
    // The sum of the rounded parts, so that the table's columns add up.
    cost_usd: r2(r2(s.costUsd) + r2(s.storageUsd)),
    compute_usd: r2(s.costUsd),
    storage_usd: r2(s.storageUsd),
    paid_hours: r2(paidHours),
    instance_hours: r2(s.instanceMs / 3_600_000),
    utilisation: paidHours > 0 ? r4(s.jobMs / 3_600_000 / (paidHours * spec.concurrency)) : 0,
    ...waitStats(s.waitsMs),
    jobs: s.jobs,
    jobs_completed: s.completed,
    jobs_killed: s.killed,
    launches: s.launches,
    warm_starts: s.unparks,
    peak_instances: s.peakInstances,
    idle_empty_hours: r2(sampler.idleEmptyMs / 3_600_000),
  };
  return { spec, metrics, series: sampler.series, simDays: (w.end - w.start) / 86_400_000, wallMs: performance.now() - t0 };
}
