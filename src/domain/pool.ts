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

/** A canonical string for a demand, stable under label order: `linux/amd64[/variant][/kernel]{k=v,...}`. */
export function demandKey(d: Demand): string {
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
}
