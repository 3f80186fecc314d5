import { describe, expect, it } from 'vitest';
import type { WarmPoolSpec, WarmWindow } from '../../src/domain/pool.js';
import { inWindow, parseDays, scheduledSize } from '../../src/planner/warm-schedule.js';
import { warmPool, warmTarget } from '../../src/planner/warm-pool.js';
import { inst, planner, pool } from './fixtures.js';

const H = 3_600_000;
const M = 60_000;
const MON = Date.UTC(2026, 0, 5); // a Monday, 00:00 UTC (CET is UTC+1 in January)
const at = (day: number, hhmm: string) => MON + day * 24 * H + Number(hhmm.slice(0, 2)) * H + Number(hhmm.slice(3)) * M;
const win = (over: Partial<WarmWindow> = {}): WarmWindow => ({ days: 'mon-fri', from: '08:00', to: '18:00', size: 3, timezone: 'UTC', ...over });
const warm = (over: Partial<WarmPoolSpec> = {}): WarmPoolSpec => ({ size: 0, min: 0, max: 8, waitTargetSeconds: 60, afterJob: 'park', maxAgeSeconds: 7 * 86_400, storageGb: 30, storageUsdPerGbMonth: 0.08, schedule: [win()], ...over });

describe('warm pool schedule: days', () => {
  it.each([
    ['mon-fri', [0, 1, 2, 3, 4]],
    ['sat,sun', [5, 6]],
    ['mon, wed-fri', [0, 2, 3, 4]],
    ['fri-mon', [0, 4, 5, 6]],
    ['daily', [0, 1, 2, 3, 4, 5, 6]],
    ['Tue', [1]],
    ['weekdays', null],
    ['mon-', null],
    ['', null],
  ] as const)('%j → %j', (spec, days) => {
    const got = parseDays(spec);
    expect(got ? [...got].sort() : null).toEqual(days);
  });
});

describe('warm pool schedule: is the instant in the window', () => {
  it.each([
    // what                                             window                                              day, time (UTC) → inside
    ['Monday 08:00: opens', win(), 0, '08:00', true],
    ['Monday 17:59: still in', win(), 0, '17:59', true],
    ['Monday 18:00: closed (to is exclusive)', win(), 0, '18:00', false],
    ['Saturday noon: not a weekday', win(), 5, '12:00', false],
    ['Berlin 08:00 is 07:00 UTC in January', win({ timezone: 'Europe/Berlin' }), 0, '07:00', true],
    ['Berlin: 17:30 UTC is 18:30 there, closed', win({ timezone: 'Europe/Berlin' }), 0, '17:30', false],
    ['across midnight: Friday 23:00 in a fri 22:00-06:00 window', win({ days: 'fri', from: '22:00', to: '06:00' }), 4, '23:00', true],
    ['across midnight: Saturday 05:00 still in it', win({ days: 'fri', from: '22:00', to: '06:00' }), 5, '05:00', true],
    ['across midnight: Friday 05:00 is Thursday night’s, not listed', win({ days: 'fri', from: '22:00', to: '06:00' }), 4, '05:00', false],
    ['to 24:00: until midnight', win({ days: 'sun', from: '20:00', to: '24:00' }), 6, '23:59', true],
  ] as const)('%s', (_what, w, day, time, inside) => {
    expect(inWindow(w, at(day, time))).toBe(inside);
  });
});

describe('warm pool schedule: the target', () => {
  const lead = 150_000; // a 90 s boot and a 60 s park
  it.each([
    // what                                                         settings                                          day, time → target, why
    ['inside the window: its size', warm(), 0, '12:00', 3, 'schedule mon-fri 08:00-18:00 UTC: 3'],
    ['a priming time before it opens: already its size', warm(), 0, '07:58', 3, 'schedule mon-fri 08:00-18:00 UTC: 3'],
    ['outside: the usual target (a fixed 1)', warm({ size: 1 }), 5, '12:00', 1, 'warm pool of 1'],
    ['clamped by max', warm({ max: 2 }), 0, '12:00', 2, 'schedule mon-fri 08:00-18:00 UTC: 3 (within min 0, max 2)'],
    ['clamped by min: a window of 0 keeps the minimum', warm({ min: 1, schedule: [win({ size: 0 })] }), 0, '12:00', 1, 'schedule mon-fri 08:00-18:00 UTC: 0 (within min 1, max 8)'],
    ['the first window that holds wins', warm({ schedule: [win({ days: 'mon', size: 5 }), win()] }), 0, '12:00', 5, 'schedule mon 08:00-18:00 UTC: 5'],
    ["'auto' outside the window sizes by the arrivals (none seen: min)", warm({ size: 'auto' }), 5, '12:00', 0, 'too little history at this hour'],
  ] as const)('%s', (_what, w, day, time, target, why) => {
    expect(warmTarget(w, 'default', { now: at(day, time) }, planner())).toEqual({ target, why });
    expect(scheduledSize(w, at(day, time), lead) !== null).toBe(why.startsWith('schedule'));
  });

  it('a pool whose only warm setting is a window is on: primed in the window, the reason names it', () => {
    const out = warmPool({ now: at(0, '12:00'), mode: 'running', queue: { known: true, at: at(0, '12:00'), stages: [] }, instances: [] }, pool({ warmPool: warm() }), [], [], planner());
    expect(out).toEqual([{ kind: 'launch', pool: 'default', count: 3, purpose: 'park', reason: 'priming the warm pool: 0 parked and 0 at work of 3 (schedule mon-fri 08:00-18:00 UTC: 3)' }]);
  });

  it("billed by the hour, 'auto' keeps none but a window still holds its size", () => {
    const hourly = planner({ billing: { periodSeconds: 3600, minimumSeconds: 3600 } });
    const parked = [inst(1, 'parked', { launchedAt: at(0, '09:00'), since: at(0, '18:00') })];
    const world = (time: string) => ({ now: at(0, time), mode: 'running' as const, queue: { known: true as const, at: at(0, time), stages: [] }, instances: parked });
    expect(warmPool(world('12:00'), pool({ warmPool: warm({ size: 'auto' }) }), parked, [], hourly).map((d) => d.kind)).toEqual(['launch']);
    // Out of the window: above the target of 0, the one parked at 18:00 is kept while its disk costs less than priming again.
    expect(warmPool(world('18:30'), pool({ warmPool: warm({ size: 'auto' }) }), parked, [], hourly).map((d) => d.kind)).toEqual(['hold']);
  });
});
