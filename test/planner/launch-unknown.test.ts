import { describe, expect, it } from 'vitest';
import { launchUnknown } from '../../src/planner/launch-unknown.js';
import type { Need } from '../../src/planner/sizing.js';
import { S, T0 } from './fixtures.js';

const need = (shortfall: number): Need => ({ wanted: shortfall, active: 0, shortfall, why: 'WHY' });
const lost = { until: T0 + 120 * S, reason: 'CLOUD_TIMEOUT: launch took longer than 120 s', keys: ['k1'] };

describe('a launch whose answer was lost', () => {
  it.each([
    // what                                              unknown  now (s)  shortfall → hold?
    ['none lost: launch', false, 0, 1, false],
    ['lost, a describe may still omit it: hold', true, 0, 1, true],
    ['lost, one second before the grace ends: hold', true, 119, 1, true],
    ['lost, grace over (a describe had the time to list it): launch', true, 120, 1, false],
    ['lost but nothing to launch: nothing to hold', true, 0, 0, false],
  ])('%s', (_what, unknown, nowS, shortfall, holds) => {
    const d = launchUnknown(T0 + nowS * S, 'amd', unknown ? lost : undefined, need(shortfall));
    expect(d !== null).toBe(holds);
    if (d) expect(d).toEqual({ kind: 'hold', pool: 'amd', code: 'launch-unknown', reason: `a launch's answer was lost (CLOUD_TIMEOUT: launch took longer than 120 s): it may have made an instance no describe lists yet; launch in ${120 - nowS} s unless a describe shows it (WHY)` });
  });
});
