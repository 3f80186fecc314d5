import { describe, expect, it } from 'vitest';
import { DEFAULT_DEMAND } from '../../src/domain/pool.js';
import { unmatchedStages } from '../../src/planner/unmatched-stages.js';
import { pending } from './fixtures.js';

const arm = { ...DEFAULT_DEMAND, arch: 'arm64' };
const demand = (i: number) => ({ ...DEFAULT_DEMAND, labels: { n: String(i) } });

describe('unmatched stages', () => {
  it.each([
    ['none: nothing said', [], []],
    ['one kind, counted', pending(2, arm), ['2 stage(s) match no pool: {"os":"linux","arch":"arm64","variant":"","kernel":"","labels":{}}']],
    [
      'at most three kinds named',
      [0, 1, 2, 3].flatMap((i) => pending(1, demand(i))),
      [`4 stage(s) match no pool: ${[0, 1, 2].map((i) => JSON.stringify(demand(i))).join(' ')}`],
    ],
  ])('%s', (_what, stages, expected) => {
    const ds = unmatchedStages(stages);
    expect(ds.map((d) => d.reason)).toEqual(expected);
    for (const d of ds) expect(d).toMatchObject({ kind: 'hold', pool: '*', code: 'unmatched-stages' });
  });
});
