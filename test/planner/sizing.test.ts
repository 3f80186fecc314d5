import { describe, expect, it } from 'vitest';
import { sizing } from '../../src/planner/sizing.js';
import { fleet, planner, pool } from './fixtures.js';

describe('sizing: agents wanted per pool', () => {
  it.each([
    // what                                        pending onOurs conc min warm phases   wanted active shortfall
    ['empty pool, empty queue', 0, 0, 1, 0, 0, '', 0, 0, 0],
    ['one agent per pending stage', 3, 0, 1, 0, 0, '', 3, 0, 3],
    ['concurrency packs stages, rounding up', 3, 0, 2, 0, 0, '', 2, 0, 2],
    ['slots on our agents count as demand', 1, 2, 1, 0, 0, 'BB', 3, 2, 1],
    ['requested and booting count as capacity', 3, 0, 1, 0, 0, 'rb', 3, 2, 1],
    ['draining instances are not capacity', 2, 0, 1, 0, 0, 'dd', 2, 0, 2],
    ['the minimum holds with an empty queue', 0, 0, 1, 2, 0, 'i', 2, 1, 1],
    ['the warm buffer is added while there is work', 1, 0, 1, 0, 1, '', 2, 0, 2],
    ['no warm buffer without work', 0, 0, 1, 0, 2, '', 0, 0, 0],
    ['surplus is a negative shortfall', 1, 0, 1, 0, 0, 'iii', 1, 3, -2],
    ['wanted is not capped at max (the cap is a hold)', 9, 0, 1, 0, 0, '', 9, 0, 9],
  ])('%s', (_what, pendingN, onOurAgents, concurrency, min, warmBuffer, phases, wanted, active, shortfall) => {
    const need = sizing(pool({ concurrency, min }), { pending: pendingN, onOurAgents }, fleet(phases), planner({ warmBuffer }));
    expect({ wanted: need.wanted, active: need.active, shortfall: need.shortfall }).toEqual({ wanted, active, shortfall });
  });

  it('no work recorded for a pool is no work', () => {
    expect(sizing(pool(), undefined, [], planner()).wanted).toBe(0);
  });

  it('says what it counted', () => {
    expect(sizing(pool({ concurrency: 2 }), { pending: 3, onOurAgents: 1 }, fleet('Bd'), planner()).why).toBe('3 pending, 1 on our agents, 2/agent: want 2, have 1');
  });
});
