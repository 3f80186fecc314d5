import { describe, expect, it } from 'vitest';
import { reapHold } from '../../src/cloud/reap-breaker.js';

describe('reaping circuit breaker', () => {
  it.each([
    // what                                      orphaned  of   maxShare → held?
    ['nothing orphaned', 0, 10, 0.5, false],
    ['one dead host of one: reaped', 1, 1, 0.5, false],
    ['one dead host of two: reaped', 1, 2, 0.5, false],
    ['half exactly: reaped', 2, 4, 0.5, false],
    ['more than half: held', 3, 4, 0.5, true],
    ['two of two: held', 2, 2, 0.5, true],
    ['all of a big fleet: held', 40, 40, 0.5, true],
    ['a quarter allowed, a third seen: held', 4, 12, 0.25, true],
    ['breaker off (1): reaped', 40, 40, 1, false],
  ])('%s', (_what, candidates, total, maxShare, held) => {
    expect(reapHold([{ what: 'container instances', candidates, total }], maxShare) !== null).toBe(held);
  });

  it('any kind over its share holds the round, and the line names the counts and the setting', () => {
    expect(
      reapHold(
        [
          { what: 'container instances', candidates: 1, total: 4 },
          { what: 'agent tasks', candidates: 3, total: 4 },
        ],
        0.5,
      ),
    ).toBe('reaping held: 3 of 4 agent tasks (75 %) look orphaned at once, more than runtime.reapMaxShare 0.5; nothing reaped this round');
  });
});
