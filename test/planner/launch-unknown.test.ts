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
    // The supervisor forgets the loss after a describe at or after `until`; until then, time alone does not lift it.
    ['lost, grace over but no describe has answered since: hold', true, 600, 1, true],
    ['lost but nothing to launch: nothing to hold', true, 0, 0, false],
  ])('%s', (_what, unknown, nowS, shortfall, holds) => {
    const d = launchUnknown(T0 + nowS * S, 'amd', unknown ? lost : undefined, need(shortfall));
    expect(d !== null).toBe(holds);
    const when = nowS < 120 ? `launch in ${120 - nowS} s unless a describe shows it` : 'launch after the next describe unless it shows it';
    if (d) expect(d).toEqual({ kind: 'hold', pool: 'amd', code: 'launch-unknown', reason: `a launch's answer was lost (CLOUD_TIMEOUT: launch took longer than 120 s): it may have made an instance no describe lists yet; ${when} (WHY)` });
  });
});
