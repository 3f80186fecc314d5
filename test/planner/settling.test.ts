import { describe, expect, it } from 'vitest';
import { plan } from '../../src/planner/plan.js';
import { settling } from '../../src/planner/settling.js';
import type { Decision, World } from '../../src/planner/types.js';
import { briefs, inst, pending, planner, pool, S, T0 } from './fixtures.js';

const launch: Decision = { kind: 'launch', pool: 'default', count: 2, reason: 'WHY' };
const drain: Decision = { kind: 'drain', pool: 'default', key: 'k1', reason: 'idle' };
const renew: Decision = { kind: 'renew', pool: 'default', key: 'k2', until: T0, reason: 'needed' };
const capped: Decision = { kind: 'hold', pool: 'default', code: 'at-pool-max', reason: 'max' };
const armLaunch: Decision = { ...launch, pool: 'arm' };
const settle = { until: T0 + 120 * S, graceMs: 120 * S };

describe('settling after a start', () => {
  it.each<[string, World['settling'], number, Decision[], string[]]>([
    // what                                         settling  now (s)  decisions → after
    ['no settling given: unchanged', undefined, 0, [launch, capped], ['launch:2', 'hold:at-pool-max']],
    ['before `until`: each launch held in its place', settle, 60, [drain, launch, capped, armLaunch], ['drain:k1', 'hold:fleet-settling', 'hold:at-pool-max', 'hold:fleet-settling']],
    ['at `until`: settled', settle, 120, [launch], ['launch:2']],
    ['after `until`: settled', settle, 600, [launch], ['launch:2']],
    ['drains and renewals go on while settling', settle, 0, [drain, renew], ['drain:k1', 'renew:k2']],
  ])('%s', (_what, s, nowS, decisions, expected) => {
    expect(briefs(settling({ now: T0 + nowS * S, settling: s }, decisions))).toEqual(expected);
  });

  it('says what it waits for, how long, and why the launch was wanted (as the supervisor did)', () => {
    expect(settling({ now: T0 + 89.5 * S, settling: settle }, [armLaunch])).toEqual([
      { kind: 'hold', pool: 'arm', code: 'fleet-settling', reason: 'fleet not settled since start: a describe may still omit instances launched in the last 120 s; launch in 31 s (WHY)' },
    ]);
  });

  it('is applied by plan(): sized and capped as usual, then held', () => {
    const world: World = { now: T0 + 60 * S, mode: 'running', queue: { known: true, at: T0, stages: pending(6) }, instances: [inst(1, 'busy')], settling: settle };
    const ds = plan(world, { pools: [pool({ max: 4 })], planner: planner() });
    expect(briefs(ds)).toEqual(['hold:fleet-settling', 'hold:at-pool-max']);
    expect(ds[0]!.reason).toBe('fleet not settled since start: a describe may still omit instances launched in the last 120 s; launch in 60 s (6 pending, 0 on our agents, 1/agent: want 6, have 1)');
  });
});
