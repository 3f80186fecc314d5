/**
 * What a stage demands of an agent. Drone's rule: a runner takes a stage only if os, arch,
 * variant, kernel match and the labels are exactly equal (same keys, same values).
 */
export interface Demand {
  os: string;
  arch: string;
  variant: string;
  kernel: string;
  labels: Readonly<Record<string, string>>;
}

export const DEFAULT_DEMAND: Demand = { os: 'linux', arch: 'amd64', variant: '', kernel: '', labels: {} };

/**
 * Keys already computed, by demand object: the planner matches every stage of every queue
 * poll to a pool, and a replay polls millions of times with the same few demands. Demands are
 * never mutated (they are read from a trace, a configuration or a CI server's answer).
 */
const keys = new WeakMap<Demand, string>();

/** A canonical string for a demand, stable under label order: `linux/amd64[/variant][/kernel]{k=v,...}`. */
export function demandKey(d: Demand): string {
  let k = keys.get(d);
  if (k === undefined) keys.set(d, (k = computeKey(d)));
  return k;
}

function computeKey(d: Demand): string {
  const platform = [d.os || 'linux', d.arch || 'amd64', d.variant, d.kernel].filter((s, i) => i < 2 || s !== '').join('/');
  const labels = Object.keys(d.labels)
    .sort()
    .map((k) => `${k}=${d.labels[k]}`)
    .join(',');
  return labels ? `${platform}{${labels}}` : platform;
}

export function demandEquals(a: Demand, b: Demand): boolean {
  return demandKey(a) === demandKey(b);
}

/**
 * A pool of interchangeable agents serving one demand: what the planner sizes. Declared here,
 * not derived from the configuration schema, so the logic names its own inputs; the config
 * schema is checked against it at compile time.
 */
export interface PoolSpec {
  /** Lowercase letters, digits and dashes; part of every instance key and tag. */
  name: string;
  demand: Demand;
  min: number;
  max: number;
  /** Agent slots per instance (DRONE_RUNNER_CAPACITY). */
  concurrency: number;
  /** USD per hour, used for the budget before the cloud reports a real price. */
  pricePerHour: number;
  /** Stopped instances kept ready to start in seconds instead of a cold boot; absent or size 0: none. */
  warmPool?: WarmPoolSpec;
}

/**
 * A pool's warm pool: instances parked (stopped) after their agent image is pulled and their
 * container instance has registered, so a start skips the bootstrap. A parked instance costs
 * only its disk.
 */
export interface WarmPoolSpec {
  /** Parked instances to keep: a number, or 'auto' (sized for each hour of the week from the arrivals seen, to meet `waitTargetSeconds` at least cost). 0: none. */
  size: number | 'auto';
  /** Bounds for 'auto'. */
  min: number;
  max: number;
  /** 'auto': the p95 build wait to aim for, seconds. */
  waitTargetSeconds: number;
  /** After a job: park the instance again (keeps its caches) or terminate it (single-use, for untrusted builds). */
  afterJob: 'park' | 'terminate';
  /** A parked instance launched longer ago than this is ended and replaced (fresh image, patched kernel). */
  maxAgeSeconds: number;
  /** Disk kept per parked instance, and its price: what a parked instance costs. */
  storageGb: number;
  storageUsdPerGbMonth: number;
  /** Windows of the week in which the pool keeps a given size instead (within min and max); the first that holds wins. */
  schedule?: readonly WarmWindow[];
  /**
   * How parked instances are bought: 'on-demand', or 'spot' (a persistent spot request that
   * stops on interruption, valid for `maxAgeSeconds`, cancelled before the instance is ended).
   */
  market?: 'on-demand' | 'spot';
}

/** What a warm-pool launch of this pool asks of the cloud's market: spot parked instances, valid for the warm pool's maximum age. */
export function warmSpotOf(pool: Pick<PoolSpec, 'warmPool'>): { warmSpot: { validSeconds: number } } | Record<string, never> {
  return pool.warmPool?.market === 'spot' ? { warmSpot: { validSeconds: pool.warmPool.maxAgeSeconds } } : {};
}

/** A schedule window: on `days` ("mon-fri", "sat,sun"), from `from` to `to` ("HH:MM", local to `timezone`, default UTC), keep `size` parked. */
export interface WarmWindow {
  days: string;
  from: string;
  to: string;
  size: number;
  timezone?: string;
}
