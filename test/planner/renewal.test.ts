import { describe, expect, it } from 'vitest';
import { emptyHistory, recordArrivals } from '../../src/planner/arrivals.js';
import { idleOdds, renewal, renewalDue } from '../../src/planner/renewal.js';
import type { Need } from '../../src/planner/sizing.js';
import type { InstanceView } from '../../src/planner/types.js';
import { briefs, HOURLY, inst, planner, pool, reasons, S, T0 } from './fixtures.js';

const need = (wanted: number, active: number): Need => ({ wanted, active, shortfall: wanted - active, why: 'WHY' });
const hourly = planner({ billing: HOURLY, renewalWindowSeconds: 300 });
const perSecond = planner({ idleGraceSeconds: 120 });

describe('renewal: when an idle agent is due', () => {
  it.each([
    // what                                              settings   launched/idle since (s)  now (s)  due  inS
    ['per-second: within the idle grace', perSecond, 0, 0, 60, false, 60],
    ['per-second: past the idle grace', perSecond, 0, 0, 121, true, 0],
    ['per-second: the billing minimum is paid anyway', planner({ idleGraceSeconds: 0 }), 0, 0, 30, false, 30],
    ['hourly: early in the paid hour', hourly, 0, 60, 1800, false, 1500],
    ['hourly: inside the renewal window', hourly, 0, 60, 3400, true, 0],
    ['hourly: just past a boundary, a new hour is paid', hourly, 0, 60, 3601, false, 3299],
  ] as const)('%s', (_what, settings, launchedS, idleS, nowS, due, inS) => {
    const r = renewalDue(inst(1, 'idle', { launchedAt: T0 + launchedS * S, idleSince: T0 + idleS * S }), T0 + nowS * S, settings);
    expect({ due: r.due, inS: Math.round(r.inMs / S) }).toEqual({ due, inS });
  });

  it.each([
    ['per-second', perSecond, 121, 'idle 121 s (grace 120 s)'],
    ['hourly', hourly, 3400, 'paid period ends in 200 s'],
  ])('%s says why it is due', (_w, settings, nowS, detail) => {
    expect(renewalDue(inst(1, 'idle'), T0 + nowS * S, settings).detail).toBe(detail);
  });
});

describe('renewal: surplus, drains and renewals', () => {
  const older = inst(1, 'idle', { idleSince: T0 });
  const newer = inst(2, 'idle', { idleSince: T0 + 10 * S });
  const busy = inst(3, 'busy');
  const lateHour = inst(4, 'idle', { launchedAt: T0 + 200 * S });

  it.each<[string, InstanceView[], number, number, number, typeof perSecond, string[]]>([
    // what                                         instances            wanted max  now (s)  settings   → decisions
    ['no surplus: nothing', [older], 1, 4, 600, perSecond, []],
    ['a busy agent is never let go', [busy, busy], 0, 4, 3600, perSecond, []],
    ['surplus, not due: a hold', [older], 0, 4, 60, perSecond, ['hold:renewal-not-due']],
    ['surplus, due: drained', [older], 0, 4, 600, perSecond, ['drain:k1']],
    ['only the surplus, longest idle first', [newer, older], 1, 4, 600, perSecond, ['drain:k1']],
    ['above max is surplus too', [older, newer], 3, 1, 600, perSecond, ['drain:k1']],
    ['hourly: earliest paid period end first', [lateHour, older], 1, 4, 3400, hourly, ['drain:k1']],
    ['hourly: a needed agent due is renewed', [older], 1, 4, 3400, hourly, ['renew:k1']],
    ['hourly: a needed agent not due is left alone', [older], 1, 4, 1800, hourly, []],
    ['per-second: a needed agent is never renewed', [older], 1, 4, 600, perSecond, []],
  ])('%s', (_what, instances, wanted, max, nowS, settings, expected) => {
    const active = instances.length;
    expect(briefs(renewal(T0 + nowS * S, pool({ max }), instances, need(wanted, active), settings))).toEqual(expected);
  });

  it('a renewal runs to the end of the next period, once', () => {
    const a = inst(1, 'idle');
    const [d] = renewal(T0 + 3400 * S, pool(), [a], need(1, 1), hourly);
    expect(d).toEqual({ kind: 'renew', pool: 'default', key: 'k1', until: T0 + 7200 * S, reason: 'kept for another period: needed (WHY)' });
    expect(renewal(T0 + 3500 * S, pool(), [{ ...a, paidUntil: T0 + 7200 * S }], need(1, 1), hourly)).toEqual([]);
  });

  it('says why it drains and when the rest is due', () => {
    expect(reasons(renewal(T0 + 121 * S, pool(), [older], need(0, 1), perSecond))).toEqual(['idle and not needed (WHY); idle 121 s (grace 120 s)']);
    expect(reasons(renewal(T0 + 60 * S, pool(), [older, newer], need(0, 2), perSecond))).toEqual(['2 idle agent(s) beyond demand kept: renewal due in 60 s']);
  });
});

describe("renewal: the 'expected-cost' idle rule", () => {
  const costRule = planner({ idleRule: 'expected-cost', idleGraceSeconds: 20, idleKeepMaxSeconds: 600 });
  const at = (nowS: number) => T0 + nowS * S;
  it.each([
    // what                                                       arrivals/h  boot s  idle agents  idle for (s)  → due, in s
    ['quiet hour: let go at once (past the billing minimum)', 2, 90, 1, 61, true, 0],
    ['quiet hour, billing minimum not yet paid: kept until then', 2, 90, 1, 30, false, 30],
    ['busy hour: worth keeping (60/h × 90 s = 1.5 > 1)', 60, 90, 1, 61, false, 539],
    ['busy hour, three idle agents share the arrivals: let go', 60, 90, 3, 61, true, 0],
    ['busy hour, kept no longer than the keep maximum', 60, 90, 1, 601, true, 0],
  ] as const)('%s', (_what, perHour, bootS, idle, nowS, due, inS) => {
    const r = renewalDue(inst(1, 'idle', { launchedAt: T0, idleSince: T0 }), at(nowS), costRule, { odds: { perSecond: perHour / 3600, bootSeconds: bootS }, idle });
    expect({ due: r.due, inS: Math.round(r.inMs / S) }).toEqual({ due, inS });
  });

  it('says why', () => {
    expect(renewalDue(inst(1, 'idle'), at(61), costRule, { odds: { perSecond: 2 / 3600, bootSeconds: 90 }, idle: 1 }).detail).toBe(
      'idle 61 s; keeping it costs more than the boot it may save (arrivals at this hour × boot / idle agents = 0.05)',
    );
  });

  it('falls back to the idle grace until an hour of the day has been watched, and for the grace rule', () => {
    const world = (watchedH: number) => ({ now: at(0), arrivals: recordArrivals(emptyHistory(), at(0) - watchedH * 3_600_000, at(0), { default: 100 }) });
    expect(idleOdds(world(0.5), 'default', costRule)).toBeNull();
    expect(idleOdds(world(1), 'default', costRule)).toEqual({ perSecond: 100 / 3600, bootSeconds: 90 });
    expect(idleOdds({ ...world(1), bootSeconds: 40 }, 'default', costRule)?.bootSeconds).toBe(40);
    expect(idleOdds(world(1), 'default', planner({ idleRule: 'grace' }))).toBeNull();
  });
});
