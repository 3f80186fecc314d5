import { describe, expect, it } from 'vitest';
import type { WarmPoolSpec } from '../../src/domain/pool.js';
import { emptyHistory, recordArrivals } from '../../src/planner/arrivals.js';
import type { Decision, InstanceView } from '../../src/planner/types.js';
import { surplusKeepMs, warmPool, warmTarget } from '../../src/planner/warm-pool.js';
import { inst, planner, pool, S, T0 } from './fixtures.js';

const H = 3_600_000;
const warm = (over: Partial<WarmPoolSpec> = {}): WarmPoolSpec => ({ size: 2, min: 0, max: 8, waitTargetSeconds: 60, afterJob: 'park', maxAgeSeconds: 7 * 86_400, storageGb: 30, storageUsdPerGbMonth: 0.08, ...over });
const world = (over: Partial<Parameters<typeof warmPool>[0]> = {}) => ({ now: T0 + 10 * H, mode: 'running' as const, queue: { known: true as const, at: T0, stages: [] }, instances: [], ...over });
const parked = (n: number, over: Partial<InstanceView> = {}) => inst(n, 'parked', { launchedAt: T0, since: T0 + 10 * H, ...over });
const brief = (ds: readonly Decision[]) =>
  ds.map((d) => (d.kind === 'launch' ? `launch${d.purpose ? `(${d.purpose})` : ''}:${d.count}` : d.kind === 'hold' ? `hold:${d.code}` : `${d.kind}${d.kind === 'drain' && d.then ? '(then park)' : ''}:${d.key}`));
const launchWork = (count: number): Decision => ({ kind: 'launch', pool: 'default', count, reason: 'WHY' });

describe('warm pool: activation, re-parking, priming, eviction', () => {
  it.each<[string, WarmPoolSpec, InstanceView[], Decision[], number, string[]]>([
    // what                                              settings            instances                          decided by the other rules    now (h)  → decisions
    ['a launch starts a parked instance instead (it parks again after its job: nothing to prime)', warm(), [parked(1), parked(2)], [launchWork(1)], 10, ['activate:k1']],
    ['more launches than parked: the rest boot cold', warm(), [parked(1)], [launchWork(3)], 10, ['activate:k1', 'launch:2', 'launch(park):1']],
    ['single-use: an instance started for a job does not come back', warm({ afterJob: 'terminate' }), [parked(1), parked(2)], [launchWork(1)], 10, ['activate:k1', 'launch(park):1']],
    ['started from parked, still coming up: counts as coming back', warm({ size: 2 }), [parked(1), inst(2, 'booting', { warmStart: true })], [], 10, []],
    ['a cold boot is not counted before it is at work', warm({ size: 2 }), [parked(1), inst(2, 'booting')], [], 10, ['launch(park):1']],
    ['draining to park again: counts as coming back; draining to end: not', warm({ size: 3 }), [parked(1), inst(2, 'draining', { thenPark: true }), inst(3, 'draining')], [], 10, ['launch(park):1']],
    ['below target: priming', warm({ size: 3 }), [parked(1)], [], 10, ['launch(park):2']],
    ['agents at work will park again: no priming for them', warm({ size: 2 }), [parked(1), inst(2, 'busy')], [], 10, []],
    ['priming and parking instances count as warm', warm({ size: 2 }), [inst(1, 'priming'), inst(2, 'parking')], [], 10, []],
    ['an idle agent let go parks again (above target: kept a while)', warm({ size: 1 }), [parked(1), inst(2, 'idle')], [{ kind: 'drain', pool: 'default', key: 'k2', reason: 'WHY' }], 10, ['drain(then park):k2', 'hold:warm-surplus']],
    ['single-use: it is terminated instead', warm({ size: 1, afterJob: 'terminate' }), [parked(1), inst(2, 'idle')], [{ kind: 'drain', pool: 'default', key: 'k2', reason: 'WHY' }], 10, ['drain:k2']],
    ['at the pool max nothing more parks', warm({ size: 1, max: 1 }), [parked(1), inst(2, 'idle')], [{ kind: 'drain', pool: 'default', key: 'k2', reason: 'WHY' }], 10, ['drain:k2']],
    ['drifted (a new image): evicted and replaced', warm({ size: 1 }), [parked(1, { drift: 'image ami-old, now ami-new' })], [], 10, ['evict:k1', 'launch(park):1']],
    ['too old: evicted and replaced', warm({ size: 1, maxAgeSeconds: 3600 }), [parked(1)], [], 10, ['evict:k1', 'launch(park):1']],
    ['above target, parked lately: kept (a hold)', warm({ size: 1 }), [parked(1), parked(2)], [], 10, ['hold:warm-surplus']],
    ['above target and unused longer than its disk is worth: evicted', warm({ size: 1 }), [parked(1), parked(2)], [], 12, ['evict:k1']],
    ['off: what is parked goes', warm({ size: 0 }), [parked(1)], [], 10, ['evict:k1']],
  ])('%s', (_what, w, instances, decided, nowH, expected) => {
    const out = warmPool(world({ now: T0 + nowH * H, instances }), pool({ warmPool: w }), instances, decided, planner());
    expect(brief(out)).toEqual(expected);
  });

  it("'auto' billed by the hour keeps no warm pool: a start opens a paid hour as a cold launch does", () => {
    const hourly = planner({ billing: { periodSeconds: 3600, minimumSeconds: 3600 } });
    const out = warmPool(world(), pool({ warmPool: warm({ size: 'auto' }) }), [parked(1)], [launchWork(1)], hourly);
    expect(brief(out)).toEqual(['launch:1', 'evict:k1']);
  });

  it('stopping: every parked instance is evicted', () => {
    const out = warmPool(world({ mode: 'stopping' }), pool({ warmPool: warm() }), [parked(1), inst(2, 'priming')], [], planner());
    expect(brief(out)).toEqual(['evict:k1']);
  });

  it('a parked instance is worth its disk for as long as priming another would cost (about 1.3 h by default)', () => {
    expect(surplusKeepMs(pool(), warm(), 90) / 60_000).toBeCloseTo(77.6, 0);
    expect(surplusKeepMs(pool(), warm({ storageGb: 0 }), 90)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("warm pool: the 'auto' target", () => {
  const history = (perHour: number, burst: number, atH: number) => {
    let h = emptyHistory();
    // Each hour watched in 5-minute polls: one burst, the rest one at a time.
    for (let d = 0; d < 3; d++) {
      const hourStart = T0 + d * 24 * H + atH * H;
      for (let k = 0; k < 12; k++) {
        const n = k === 0 ? burst : k <= perHour - burst ? 1 : 0;
        h = recordArrivals(h, hourStart + k * 300 * S, hourStart + (k + 1) * 300 * S - 1, { default: n });
      }
    }
    return h;
  };
  it.each([
    // what                                                  arrivals/h burst at (h)  now (h)   wait target → target
    ['a busy hour: its bursts plus the arrivals while one is replaced', 12, 3, 14, 2 * 24 + 14.2, 60, 3 + 1],
    ['the hour before a busy one: primed ahead', 12, 3, 14, 2 * 24 + 13.6, 60, 4],
    ['a quiet hour: none', 12, 3, 14, 2 * 24 + 9, 60, 0],
    ['a cold boot meets the wait target: none', 12, 3, 14, 2 * 24 + 14.2, 120, 0],
  ] as const)('%s', (_what, perHour, burst, atH, nowH, waitTarget, target) => {
    const r = warmTarget(warm({ size: 'auto', waitTargetSeconds: waitTarget }), 'default', { now: T0 + nowH * H, arrivals: history(perHour, burst, atH) }, planner());
    expect(r.target).toBe(target);
  });

  it('billed by the hour: priming would pay a whole hour to park, so auto primes nothing', () => {
    const r = warmTarget(warm({ size: 'auto' }), 'default', { now: T0 + (2 * 24 + 14.2) * H, arrivals: history(12, 3, 14) }, planner({ billing: { periodSeconds: 3600, minimumSeconds: 3600 } }));
    expect(r).toEqual({ target: 0, why: 'billed by the period: priming pays a whole period' });
  });
});

describe("warm pool: 'auto' by hour of the week", () => {
  const MON = Date.UTC(2026, 0, 5); // a Monday, 00:00 UTC
  /** `weeks` weeks of 14:00–15:00 watched every day in 5-minute polls: weekdays busy (12 an hour, one burst of 3), weekends quiet. */
  const weeks = (n: number) => {
    let h = emptyHistory();
    for (let d = 0; d < n * 7; d++) {
      const weekend = d % 7 >= 5;
      const hourStart = MON + d * 24 * H + 14 * H;
      for (let k = 0; k < 12; k++) {
        const arrived = weekend ? 0 : k === 0 ? 3 : k <= 9 ? 1 : 0;
        h = recordArrivals(h, hourStart + k * 300 * S, hourStart + (k + 1) * 300 * S - 1, { default: arrived });
      }
    }
    return h;
  };
  it.each([
    // what                                                              weeks seen  now (days after the first Monday, h)  → target, sized by
    ['a Monday after three weeks: that hour of the week (busy)', 3, 21 * 24 + 14.2, 4, 'mon 14:00 UTC'],
    ['a Saturday in the third week: that hour of the week (quiet), not the busy weekdays', 3, 19 * 24 + 14.2, 0, 'sat 14:00 UTC'],
    ['a Saturday with one week seen: too little for the hour of the week, the hour of the day instead', 1, 5 * 24 + 14.2, 4, 'hour of day 14:00 UTC'],
    ['a Sunday before a Monday: the next hour is 00:00 Monday, never watched', 2, 13 * 24 + 23.7, 0, 'too little'],
  ] as const)('%s', (_what, n, nowH, target, by) => {
    const r = warmTarget(warm({ size: 'auto' }), 'default', { now: MON + nowH * H, arrivals: weeks(n) }, planner());
    expect(r.target).toBe(target);
    expect(r.why).toContain(by);
  });
});
