import { describe, expect, it } from 'vitest';
import { cloudBlind } from '../../src/planner/cloud-blind.js';
import { plan } from '../../src/planner/plan.js';
import type { CloudView, Decision, World } from '../../src/planner/types.js';
import { briefs, inst, pending, planner, pool, S, T0 } from './fixtures.js';

const launch: Decision = { kind: 'launch', pool: 'default', count: 2, reason: 'WHY' };
const drain: Decision = { kind: 'drain', pool: 'default', key: 'k1', reason: 'idle' };
const renew: Decision = { kind: 'renew', pool: 'default', key: 'k2', until: T0, reason: 'needed' };
const capped: Decision = { kind: 'hold', pool: 'default', code: 'at-pool-max', reason: 'max' };
const blind: CloudView = { known: false, since: T0, error: 'CLOUD_UNAVAILABLE: connect ETIMEDOUT' };

describe('cloud blindness', () => {
  it.each<[string, CloudView | undefined, Decision[], string[]]>([
    // what                                       cloud           decisions → after
    ['absent: known, unchanged', undefined, [launch, capped], ['launch:2', 'hold:at-pool-max']],
    ['known: unchanged', { known: true }, [launch], ['launch:2']],
    ['unknown: each launch held in its place', blind, [drain, launch, capped], ['drain:k1', 'hold:cloud-unknown', 'hold:at-pool-max']],
    ['unknown: drains and renewals go on', blind, [drain, renew], ['drain:k1', 'renew:k2']],
  ])('%s', (_what, cloud, decisions, expected) => {
    expect(briefs(cloudBlind({ now: T0 + 45 * S, cloud }, decisions))).toEqual(expected);
  });

  it('says how long, the error, and why the launch was wanted', () => {
    expect(cloudBlind({ now: T0 + 45.4 * S, cloud: blind }, [launch])).toEqual([
      { kind: 'hold', pool: 'default', code: 'cloud-unknown', reason: 'cloud unknown for 45 s (CLOUD_UNAVAILABLE: connect ETIMEDOUT): no launches (WHY)' },
    ]);
  });

  const world = (over: Partial<World>): World => ({ now: T0 + 60 * S, mode: 'running', queue: { known: true, at: T0, stages: pending(2) }, instances: [], ...over });
  const settings = { pools: [pool()], planner: planner({ idleGraceSeconds: 0 }) };

  it.each<[string, Partial<World>, string[]]>([
    ['blind and settling: cloud blindness is what is said', { cloud: blind, settling: { until: T0 + 120 * S, graceMs: 120 * S } }, ['hold:cloud-unknown']],
    ['blind, settled', { cloud: blind, settling: { until: T0, graceMs: 120 * S } }, ['hold:cloud-unknown']],
    ['known and settling', { cloud: { known: true }, settling: { until: T0 + 120 * S, graceMs: 120 * S } }, ['hold:fleet-settling']],
    ['blind with an idle agent beyond demand: it is still let go', { cloud: blind, queue: { known: true, at: T0, stages: [] }, instances: [inst(1, 'idle')] }, ['drain:k1']],
  ])('in plan(): %s', (_what, over, expected) => {
    expect(briefs(plan(world(over), settings))).toEqual(expected);
  });
});
