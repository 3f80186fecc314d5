import { describe, expect, it } from 'vitest';
import { launchBackoff, launchBackoffUntil } from '../../src/planner/launch-backoff.js';
import type { Need } from '../../src/planner/sizing.js';
import { planner, S, T0 } from './fixtures.js';

const need = (shortfall: number): Need => ({ wanted: shortfall, active: 0, shortfall, why: 'WHY' });
const failed = (count: number) => ({ count, lastAt: T0, reason: 'CLOUD_FAILED: Invalid IAM Instance Profile name' });
const throttled = (count: number) => ({ count, lastAt: T0, reason: 'CLOUD_THROTTLED: RunInstances: RequestLimitExceeded', throttled: true });

describe('launch backoff', () => {
  it.each([
    // failures in a row → next try after the last (s); 30 s doubling, at most 600 s
    [0, null],
    [1, null],
    [2, 30],
    [3, 60],
    [4, 120],
    [6, 480],
    [7, 600],
    [30, 600],
  ])('%i failures in a row → wait %s s', (count, waitS) => {
    expect(launchBackoffUntil(count === 0 ? undefined : failed(count), planner())?.until ?? null).toBe(waitS === null ? null : T0 + waitS * S);
  });

  it.each([
    // throttled failures in a row (the last one throttled) → wait (s): from the first, one doubling ahead
    [1, 30],
    [2, 60],
    [3, 120],
    [6, 600],
    [30, 600],
  ])('%i throttled failures in a row → wait %s s', (count, waitS) => {
    expect(launchBackoffUntil(throttled(count), planner())?.until).toBe(T0 + waitS * S);
  });

  it.each([
    // what                                           failures  now (s after last)  shortfall → hold?
    ['a first throttled failure: hold', 1, 0, 2, true],
    ['a first throttled failure, backoff over: launch', 1, 30, 2, false],
    ['throttled but nothing to launch: nothing to hold', 1, 0, 0, false],
  ])('%s', (_what, count, afterS, shortfall, holds) => {
    const d = launchBackoff(T0 + afterS * S, 'default', throttled(count), need(shortfall), planner());
    expect(d !== null).toBe(holds);
  });

  it('a throttled hold says so through the last error', () => {
    expect(launchBackoff(T0, 'default', throttled(1), need(1), planner())?.reason).toBe('1 launches failed in a row (last: CLOUD_THROTTLED: RunInstances: RequestLimitExceeded): next try in 30 s (WHY)');
  });

  it.each([
    // what                                  failures  now (s after last)  shortfall → hold?
    ['no failures: launch', 0, 0, 2, false],
    ['a first failure is retried at once', 1, 0, 2, false],
    ['within the backoff: hold', 2, 15, 2, true],
    ['the backoff over: launch', 2, 30, 2, false],
    ['deep in the backoff: hold', 30, 599, 2, true],
    ['nothing to launch: nothing to hold', 5, 1, 0, false],
    ['surplus (letting go) never waits', 5, 1, -1, false],
  ])('%s', (_what, count, afterS, shortfall, holds) => {
    const d = launchBackoff(T0 + afterS * S, 'default', count ? failed(count) : undefined, need(shortfall), planner());
    expect(d !== null).toBe(holds);
  });

  it('says how many failed, the last error, when the next try is, and why it wanted to launch', () => {
    expect(launchBackoff(T0 + 15 * S, 'default', failed(2), need(2), planner())).toEqual({
      kind: 'hold',
      pool: 'default',
      code: 'launch-backoff',
      reason: '2 launches failed in a row (last: CLOUD_FAILED: Invalid IAM Instance Profile name): next try in 15 s (WHY)',
    });
  });
});
