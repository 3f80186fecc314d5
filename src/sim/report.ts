import type { CapName, CapUse } from './caps-watch.js';
import type { SimStats } from './sim-world.js';

/** One cap: its setting, how long it held launches back, and how many jobs waited behind it. */
export interface CapReport {
  bound_s: number;
  jobs_waited: number;
}

/** Which caps bound during the run; the limits are the settings the run had. */
export interface CapsReport {
  /** Max instances per pool, by pool. */
  pool_max: CapReport & { limits: Record<string, number> };
  /** Max instances of the whole fleet. */
  fleet_max: CapReport & { limit: number };
  /** USD per hour, whole fleet; null: no budget. */
  budget: CapReport & { limit_usd_per_hour: number | null };
}

/** What buildReport needs to report the caps: what bound (CapsWatch) and the settings. */
export interface CapsInput {
  use: Record<CapName, CapUse>;
  poolMax: Record<string, number>;
  fleetMax: number;
  budgetPerHour: number;
}

/** The headline numbers of a simulated run; snake_case keys are the `--json` contract. */
export interface SimReport {
  from: string;
  to: string;
  days: number;
  jobs: number;
  jobs_completed: number;
  jobs_killed: number;
  jobs_killed_by_decision: number;
  instance_hours: number;
  /** Compute only: each instance from \`running\` to the start of its stop or terminate. */
  cost_usd: number;
  /** Disks (running and parked instances alike), beside cost_usd, not in it. */
  storage_usd: number;
  wait_p50_s: number;
  wait_p95_s: number;
  wait_p99_s: number;
  wait_max_s: number;
  peak_instances: number;
  launches: number;
  launch_failures: number;
  /** Instances parked (stopped to keep warm), started again from parked (warm starts), and starts refused for capacity. */
  parks: number;
  unparks: number;
  unpark_failures: number;
  instances_left: number;
  /** Parked (stopped) instances at the end: the warm pool, costing only their disks. */
  parked_left: number;
  utilisation: number;
  /** Which caps held launches back, for how long (simulated seconds) and how many jobs waited behind them. */
  caps: CapsReport;
  simulated_days_per_wall_second: number;
  wall_seconds: number;
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** Job wait percentiles in seconds (two decimals), from waits in milliseconds. */
export function waitStats(waitsMs: readonly number[]): { wait_p50_s: number; wait_p95_s: number; wait_p99_s: number; wait_max_s: number } {
  const waits = [...waitsMs].sort((a, b) => a - b);
  const s = (ms: number) => Math.round(ms / 10) / 100;
  return { wait_p50_s: s(percentile(waits, 0.5)), wait_p95_s: s(percentile(waits, 0.95)), wait_p99_s: s(percentile(waits, 0.99)), wait_max_s: s(waits[waits.length - 1] ?? 0) };
}

const noCaps: CapsInput = {
  use: { pool_max: { boundMs: 0, jobsWaited: 0 }, fleet_max: { boundMs: 0, jobsWaited: 0 }, budget: { boundMs: 0, jobsWaited: 0 } },
  poolMax: {},
  fleetMax: 0,
  budgetPerHour: 0,
};

function capsReport(c: CapsInput): CapsReport {
  const one = (cap: CapName): CapReport => ({ bound_s: Math.round(c.use[cap].boundMs / 1000), jobs_waited: c.use[cap].jobsWaited });
  return {
    pool_max: { limits: { ...c.poolMax }, ...one('pool_max') },
    fleet_max: { limit: c.fleetMax, ...one('fleet_max') },
    budget: { limit_usd_per_hour: Number.isFinite(c.budgetPerHour) ? c.budgetPerHour : null, ...one('budget') },
  };
}

export function buildReport(s: SimStats, o: { start: number; end: number; instancesLeft: number; parkedLeft?: number; wallMs: number; concurrency: number; caps?: CapsInput }): SimReport {
  const days = (o.end - o.start) / 86_400_000;
  const r2 = (n: number) => Math.round(n * 100) / 100;
  return {
    from: new Date(o.start).toISOString(),
    to: new Date(o.end).toISOString(),
    days: r2(days),
    jobs: s.jobs,
    jobs_completed: s.completed,
    jobs_killed: s.killed,
    jobs_killed_by_decision: s.killedByDecision,
    instance_hours: r2(s.instanceMs / 3_600_000),
    cost_usd: r2(s.costUsd),
    storage_usd: r2(s.storageUsd),
    ...waitStats(s.waitsMs),
    peak_instances: s.peakInstances,
    launches: s.launches,
    launch_failures: s.launchFailures,
    parks: s.parks,
    unparks: s.unparks,
    unpark_failures: s.unparkFailures,
    instances_left: o.instancesLeft,
    parked_left: o.parkedLeft ?? 0,
    utilisation: s.instanceMs > 0 ? r2(s.jobMs / (s.instanceMs * o.concurrency)) : 0,
    caps: capsReport(o.caps ?? noCaps),
    simulated_days_per_wall_second: o.wallMs > 0 ? r2(days / (o.wallMs / 1000)) : 0,
    wall_seconds: r2(o.wallMs / 1000),
  };
}

export function formatReport(r: SimReport): string {
  const rows: [string, string][] = [
    ['window', `${r.from} → ${r.to} (${r.days} days)`],
    ['jobs', `${r.jobs} (completed ${r.jobs_completed}, killed ${r.jobs_killed}${r.jobs_killed_by_decision ? `, by decision ${r.jobs_killed_by_decision}` : ''})`],
    ['instance-hours', r.instance_hours.toFixed(2)],
    ['cost', `${r.cost_usd.toFixed(2)} USD compute + ${r.storage_usd.toFixed(2)} USD storage`],
    ['job wait p50/p95/max', `${r.wait_p50_s} / ${r.wait_p95_s} / ${r.wait_max_s} s`],
    ['peak instances', String(r.peak_instances)],
    ['launches', `${r.launches}${r.launch_failures ? ` (${r.launch_failures} failed)` : ''}`],
    ['parks / warm starts', `${r.parks} / ${r.unparks}${r.unpark_failures ? ` (${r.unpark_failures} failed)` : ''}`],
    ['utilisation', `${Math.round(r.utilisation * 100)} %`],
    ['caps bound', formatCaps(r.caps)],
    ['instances left', `${r.instances_left}${r.parked_left ? ` running, ${r.parked_left} parked` : ''}`],
    ['speed', `${r.simulated_days_per_wall_second} simulated days per wall second (${r.wall_seconds} s)`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

/** A duration for people: 94 s, 351 s, 12 min, 3.4 h, 6.1 d. */
export function humanSeconds(s: number): string {
  if (s < 600) return `${Math.round(s)} s`;
  if (s < 7_200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3_600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

/** "none", or each cap that bound: its setting, for how long, and the jobs that waited behind it. */
export function formatCaps(c: CapsReport): string {
  const pools = Object.entries(c.pool_max.limits);
  const poolMax = pools.length === 1 ? `pool max (${pools[0]![1]})` : `pool max (${pools.map(([p, n]) => `${p} ${n}`).join(', ')})`;
  const parts: [string, CapReport][] = [
    [poolMax, c.pool_max],
    [`fleet max (${c.fleet_max.limit})`, c.fleet_max],
    [`budget (${c.budget.limit_usd_per_hour ?? 'none'} USD/h)`, c.budget],
  ];
  const bound = parts.filter(([, r]) => r.bound_s > 0);
  if (bound.length === 0) return 'none';
  return bound.map(([name, r]) => `${name} for ${humanSeconds(r.bound_s)}, ${r.jobs_waited} job${r.jobs_waited === 1 ? '' : 's'} waited`).join('; ');
}
