import { DEFAULT_DEMAND, type Demand, type PoolSpec } from '../../src/domain/pool.js';
import type { Decision, InstanceView, PlannerSettings } from '../../src/planner/types.js';
import type { Stage } from '../../src/ports/queue-source.js';

/** Plain inputs for the planner's rule tables: no config parsing, every value in sight. */

export const T0 = Date.UTC(2026, 0, 1);
export const S = 1000;

export const pool = (over: Partial<PoolSpec> = {}): PoolSpec => ({ name: 'default', demand: DEFAULT_DEMAND, min: 0, max: 4, concurrency: 1, pricePerHour: 0.17, ...over });

export const planner = (over: Partial<PlannerSettings> = {}): PlannerSettings => ({
  billing: { periodSeconds: 1, minimumSeconds: 60 },
  idleRule: 'grace',
  idleGraceSeconds: 20,
  idleKeepMaxSeconds: 600,
  expectedBootSeconds: 90,
  renewalWindowSeconds: 300,
  warmBuffer: 0,
  blindHoldSeconds: 900,
  launchBackoffSeconds: 30,
  launchBackoffMaxSeconds: 600,
  maxInstances: 10,
  budgetPerHour: 10,
  ...over,
});

export const HOURLY = { periodSeconds: 3600, minimumSeconds: 3600 };

/** Instance `k<n>` (instance id `i-<n>`), launched at T0, idle since T0 when idle. */
export const inst = (n: number, phase: InstanceView['phase'], over: Partial<InstanceView> = {}): InstanceView => ({
  key: `k${n}`,
  pool: 'default',
  phase,
  cancellable: false,
  instanceId: phase === 'requested' ? null : `i-${n}`,
  launchedAt: T0,
  idleSince: phase === 'idle' ? T0 : null,
  paidUntil: null,
  pricePerHour: 0.17,
  ...over,
});

/** One instance per phase letter: r(equested) b(ooting) c(ancellable boot) i(dle) B(usy) d(raining). */
export const fleet = (phases: string): InstanceView[] =>
  [...phases].map((p, n) =>
    p === 'c' ? inst(n + 1, 'booting', { cancellable: true }) : inst(n + 1, ({ r: 'requested', b: 'booting', i: 'idle', B: 'busy', d: 'draining' } as const)[p as 'r' | 'b' | 'i' | 'B' | 'd']),
  );

export const pending = (n: number, demand: Demand = DEFAULT_DEMAND): Stage[] => Array.from({ length: n }, (_, i) => ({ id: `p${i}`, status: 'pending', demand, createdAt: T0 }));
export const runningOn = (agent: string | undefined, id = `r-${agent}`): Stage => ({ id, status: 'running', demand: DEFAULT_DEMAND, ...(agent ? { agent } : {}), createdAt: T0, startedAt: T0 });

/** A decision in one short word: `launch:2`, `hold:at-pool-max`, `drain:k1`, `renew:k1`. */
export const brief = (d: Decision): string => (d.kind === 'launch' ? `launch:${d.count}` : d.kind === 'hold' ? `hold:${d.code}` : `${d.kind}:${d.key}`);
export const briefs = (ds: readonly Decision[]): string[] => ds.map(brief);
export const reasons = (ds: readonly Decision[]): string[] => ds.map((d) => d.reason);
