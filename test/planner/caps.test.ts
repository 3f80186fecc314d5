import { describe, expect, it } from 'vitest';
import { afterLaunches, caps, fleetUse, withUnknownLaunches } from '../../src/planner/caps.js';
import type { Need } from '../../src/planner/sizing.js';
import { briefs, fleet, inst, planner, pool, reasons } from './fixtures.js';

const need = (shortfall: number, active = 0): Need => ({ wanted: shortfall + active, active, shortfall, why: 'WHY' });

describe('caps: pool max, fleet max, budget', () => {
  it.each([
    // what                                     short phases  poolMax fleetMax budget use(n, $)  price  → decisions
    ['nothing binds', 2, '', 4, 10, 10, [0, 0], 0.17, ['launch:2']],
    ['the pool max binds', 9, '', 4, 10, 10, [0, 0], 0.17, ['launch:4', 'hold:at-pool-max']],
    ['draining instances still count toward the pool max', 4, 'dd', 4, 10, 10, [2, 0.34], 0.17, ['launch:2', 'hold:at-pool-max']],
    ['the fleet max binds (other pools count)', 4, '', 4, 10, 10, [9, 0], 0.17, ['launch:1', 'hold:at-fleet-max']],
    ['the budget binds', 4, '', 4, 10, 0.5, [0, 0], 0.17, ['launch:2', 'hold:over-budget']],
    ['the tightest cap is the one said', 9, '', 4, 3, 0.5, [0, 0], 0.17, ['launch:2', 'hold:over-budget']],
    ['at a cap already: only the hold', 1, 'BBBB', 4, 10, 10, [4, 0.68], 0.17, ['hold:at-pool-max']],
    ['over a cap: never a negative launch', 1, '', 4, 3, 10, [5, 0], 0.17, ['hold:at-fleet-max']],
    ['a free pool has no budget cap', 5, '', 8, 10, 0, [0, 0], 0, ['launch:5']],
  ] as const)('%s', (_what, shortfall, phases, max, maxInstances, budgetPerHour, [n, spend], pricePerHour, expected) => {
    const ds = caps(pool({ max, pricePerHour }), fleet(phases), need(shortfall, fleet(phases).filter((i) => i.phase !== 'draining').length), { instances: n, spendPerHour: spend }, planner({ maxInstances, budgetPerHour }));
    expect(briefs(ds)).toEqual(expected);
  });

  it.each([
    ['pool', pool({ max: 4 }), 10, 10, 'pool at max (4, 2 draining): 4 more wanted (WHY)'],
    ['fleet', pool({ max: 9 }), 3, 10, 'fleet at max (3): 5 more wanted (WHY)'],
    ['budget', pool({ max: 9, pricePerHour: 1 }), 10, 3.5, 'budget 3.5 USD/h reached (spending 0.34): 3 more wanted (WHY)'],
  ])('the %s hold says the cap, how many more were wanted and why', (_w, p, maxInstances, budgetPerHour, reason) => {
    const ds = caps(p, fleet('dd'), need(6), { instances: 2, spendPerHour: 0.34 }, planner({ maxInstances, budgetPerHour }));
    expect(reasons(ds)).toEqual(['WHY', reason]);
  });

  it.each([
    ['every instance counts, priced by the cloud', [inst(1, 'busy', { pricePerHour: 0.5 }), inst(2, 'draining', { pricePerHour: 0.25 })], { instances: 2, spendPerHour: 0.75 }],
    ['an unknown price falls back to the pool price', [inst(1, 'requested', { pricePerHour: 0 })], { instances: 1, spendPerHour: 0.17 }],
    ['a pool no longer configured costs only its known price', [inst(1, 'idle', { pool: 'gone', pricePerHour: 0 })], { instances: 1, spendPerHour: 0 }],
  ])('fleet use: %s', (_w, instances, expected) => {
    expect(fleetUse(instances, [pool()])).toEqual(expected);
  });

  it('launches decided for one pool take room from the next', () => {
    const use = afterLaunches({ instances: 1, spendPerHour: 0.5 }, [{ kind: 'launch', pool: 'default', count: 2, reason: '' }, { kind: 'hold', pool: 'default', code: 'at-pool-max', reason: '' }], pool({ pricePerHour: 0.25 }));
    expect(use).toEqual({ instances: 3, spendPerHour: 1 });
  });

  it.each([
    // what                                                            unknown (pool: keys, until s)   (now s) → use
    ['no lost launch: the fleet as it is', {}, 0, { instances: 1, spendPerHour: 0.5 }],
    ['a lost launch counts in any pool, at its pool price', { amd: [['k1'], 120] }, 0, { instances: 2, spendPerHour: 0.75 }],
    ['each lost launch not yet seen counts', { amd: [['k1', 'k2'], 120], arm: [['k3'], 120] }, 0, { instances: 4, spendPerHour: 1.25 }],
    // The supervisor forgets it after a describe at or after `until`; the time alone does not.
    ['past its grace, still kept (no describe answered since): it still counts', { amd: [['k1'], 120] }, 600, { instances: 2, spendPerHour: 0.75 }],
  ] as const)('lost launches: %s', (_w, unknown, _nowS, expected) => {
    const lost = Object.fromEntries(Object.entries(unknown).map(([p, [keys, until]]) => [p, { until: until * 1000, reason: 'R', keys }]));
    const pools = [pool({ name: 'amd', pricePerHour: 0.25 }), pool({ name: 'arm', pricePerHour: 0.25 })];
    expect(withUnknownLaunches({ instances: 1, spendPerHour: 0.5 }, lost, pools)).toEqual(expected);
  });
});
