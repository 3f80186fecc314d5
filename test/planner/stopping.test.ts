import { describe, expect, it } from 'vitest';
import { stopping } from '../../src/planner/stopping.js';
import { briefs, fleet, pool, reasons } from './fixtures.js';

describe('stopping', () => {
  it.each([
    // what                                        phases   → decisions
    ['an empty pool: nothing', '', []],
    ['idle agents are drained', 'ii', ['drain:k1', 'drain:k2']],
    ['busy agents finish: a hold', 'B', ['hold:stopping']],
    ['cancellable boots are cancelled, others are not', 'cb', ['drain:k1']],
    ['requested and draining are left to finish', 'rd', []],
    ['drains first, in fleet order, then the hold', 'BiBc', ['drain:k2', 'drain:k4', 'hold:stopping']],
  ])('%s', (_what, phases, expected) => {
    expect(briefs(stopping(pool(), fleet(phases)))).toEqual(expected);
  });

  it('says why', () => {
    expect(reasons(stopping(pool(), fleet('iB')))).toEqual(['daemon stopping: no more work is taken', 'daemon stopping: busy agents finish their builds']);
  });
});
