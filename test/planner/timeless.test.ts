import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { emptyHistory, recordArrivals, type ArrivalHistory } from '../../src/planner/arrivals.js';
import { plan } from '../../src/planner/plan.js';
import { timeless } from '../../src/planner/timeless.js';
import type { InstanceView, PlannerSettings, PlanSettings, World } from '../../src/planner/types.js';
import type { PoolSpec } from '../../src/domain/pool.js';
import { briefs, HOURLY, inst, pending, planner, pool, runningOn, S, T0 } from './fixtures.js';

const H = 3_600_000;
const busy = (n: number) => inst(n, 'busy');
const boot = (n: number) => inst(n, 'booting', { cancellable: true });
const registered = (n: number) => inst(n, 'booting', { cancellable: false });

/** Every hour of the last week watched, with `perHour` arrivals in each. */
function history(perHour: number, now: number): ArrivalHistory {
  let h = emptyHistory();
  for (let t = now - 7 * 24 * H; t < now; t += H) h = recordArrivals(h, t, t + H, perHour > 0 ? { default: perHour } : {});
  return h;
}

interface Row {
  what: string;
  instances: InstanceView[];
  pendingStages?: number;
  world?: Partial<World>;
  planner?: Partial<PlannerSettings>;
  pool?: Partial<PoolSpec>;
  timeless: boolean;
}

const NOW = T0 + 10 * H;
const onAgents = (instances: InstanceView[]) => instances.filter((i) => i.phase === 'busy').map((i) => runningOn(i.instanceId!));

describe('timeless: whether the plan stays as it is at every later instant while the queue and the fleet do', () => {
  it.each([
    { what: 'every agent busy, nothing pending', instances: [busy(1), busy(2)], timeless: true },
    { what: 'a boot for each pending stage', instances: [busy(1), boot(2), boot(3)], pendingStages: 2, timeless: true },
    { what: 'a boot beyond demand: the odds at this hour may cancel it', instances: [busy(1), boot(2)], timeless: false },
    { what: 'a boot beyond demand, billed by the hour: never cancelled', instances: [busy(1), boot(2)], planner: { billing: HOURLY }, timeless: true },
    { what: 'a registered boot beyond demand: not cancellable', instances: [busy(1), registered(2)], timeless: true },
    { what: 'an idle agent: its renewal falls due', instances: [busy(1), inst(2, 'idle')], timeless: false },
    { what: 'a parked instance', instances: [busy(1), inst(2, 'parked')], timeless: false },
    { what: 'a warm pool configured', instances: [busy(1)], pool: { warmPool: parseConfig({ pools: [{ name: 'default', warmPool: { size: 1 } }] }).pools[0]!.warmPool }, timeless: false },
    { what: 'the queue unknown: blind holds count the time', instances: [busy(1)], world: { queue: { known: false, since: T0, error: 'SOURCE_HTTP: 503' } }, timeless: false },
    { what: 'the cloud unknown', instances: [busy(1)], world: { cloud: { known: false, since: T0, error: 'CLOUD_UNAVAILABLE' } }, timeless: false },
    { what: 'stopping', instances: [busy(1)], world: { mode: 'stopping' }, timeless: false },
    { what: 'settling after a start', instances: [busy(1)], world: { settling: { until: NOW + 60 * S, graceMs: 120 * S } }, timeless: false },
    { what: 'settled', instances: [busy(1)], world: { settling: { until: NOW - S, graceMs: 120 * S } }, timeless: true },
    { what: 'after a launch failure: backoff', instances: [busy(1)], world: { launchFailures: { default: { count: 1, lastAt: NOW - S, reason: 'x' } } }, timeless: false },
    { what: 'a lost launch', instances: [busy(1)], world: { launchesUnknown: { default: { until: NOW + S, reason: 'x', keys: ['k9'] } } }, timeless: false },
  ] as Row[])('$what', (r) => {
    const instances = r.instances;
    const stages = [...onAgents(instances), ...pending(r.pendingStages ?? 0)];
    const settings: PlanSettings = { pools: [pool({ max: 8, ...r.pool })], planner: planner({ idleRule: 'expected-cost', ...r.planner }) };
    const at = (now: number, perHour: number): World => ({ now, mode: 'running', queue: { known: true, at: now, stages }, instances, arrivals: history(perHour, now), ...r.world });
    expect(timeless(at(NOW, 0), settings)).toBe(r.timeless);
    if (r.timeless) {
      // What it claims: later, at another hour and with other odds, the plan is the same.
      const now = briefs(plan(at(NOW, 0), settings));
      for (const [later, perHour] of [[NOW + 7 * H + 13 * S, 0], [NOW + 30 * S, 200], [NOW + 3 * 24 * H, 40]] as const) expect(briefs(plan(at(later, perHour), settings))).toEqual(now);
    }
  });

  it('is not vacuous: with no arrivals a surplus boot is cancelled now, with many it is kept', () => {
    const instances = [busy(1), boot(2)];
    const settings: PlanSettings = { pools: [pool({ max: 8 })], planner: planner({ idleRule: 'expected-cost' }) };
    const at = (perHour: number): World => ({ now: NOW, mode: 'running', queue: { known: true, at: NOW, stages: onAgents(instances) }, instances, arrivals: history(perHour, NOW) });
    expect(briefs(plan(at(0), settings))).toEqual(['drain:k2']);
    expect(briefs(plan(at(200), settings))).toEqual([]);
  });
});
