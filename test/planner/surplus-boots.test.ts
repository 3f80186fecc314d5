import { describe, expect, it } from 'vitest';
import { surplusBoots } from '../../src/planner/surplus-boots.js';
import type { IdleOdds } from '../../src/planner/renewal.js';
import type { Need } from '../../src/planner/sizing.js';
import type { InstanceView } from '../../src/planner/types.js';
import { briefs, HOURLY, inst, planner, pool, S, T0 } from './fixtures.js';

const need = (wanted: number, active: number): Need => ({ wanted, active, shortfall: wanted - active, why: 'WHY' });
/** 2 stages an hour × a 90 s boot = 0.05: an idle agent is let go at once. */
const quiet: IdleOdds = { perSecond: 2 / 3600, bootSeconds: 90 };
/** 100 stages an hour × 90 s = 2.5: two idle agents are worth keeping. */
const busyHour: IdleOdds = { perSecond: 100 / 3600, bootSeconds: 90 };
const boot = (n: number, launchedS: number): InstanceView => inst(n, 'booting', { cancellable: true, launchedAt: T0 + launchedS * S });
const registered = (n: number) => inst(n, 'booting', { cancellable: false });

describe('surplus boots: a boot the queue no longer needs is cancelled while nothing runs on it', () => {
  it.each<[string, InstanceView[], number, IdleOdds | null, typeof HOURLY | undefined, string[]]>([
    // what                                                  instances                              wanted  odds      billing  → decisions
    ['needed: kept', [boot(1, 0), boot(2, 10)], 2, quiet, undefined, []],
    ['one too many: the latest launched is cancelled', [boot(1, 0), boot(2, 10)], 1, quiet, undefined, ['drain:k2']],
    ['none needed: all cancelled, latest first', [boot(1, 0), boot(2, 10), boot(3, 5)], 0, quiet, undefined, ['drain:k2', 'drain:k3', 'drain:k1']],
    ['an idle agent is the surplus first (renewal lets it go)', [inst(1, 'idle'), boot(2, 0)], 1, quiet, undefined, []],
    ['registered (its agent starting): not cancellable', [registered(1)], 0, quiet, undefined, []],
    ['a busy hour: as many kept as are worth keeping idle', [boot(1, 0), boot(2, 10), boot(3, 20)], 0, busyHour, undefined, ['drain:k3']],
    ['no odds (grace rule, too little history): left to boot', [boot(1, 0)], 0, null, undefined, []],
    ['billed by the hour: the period is paid anyway', [boot(1, 0)], 0, quiet, HOURLY, []],
  ])('%s', (_what, instances, wanted, odds, billing, expected) => {
    const active = instances.filter((i) => i.phase !== 'draining').length;
    expect(briefs(surplusBoots(pool(), instances, need(wanted, active), planner(billing ? { billing } : {}), odds))).toEqual(expected);
  });

  it('says why', () => {
    const [d] = surplusBoots(pool(), [boot(1, 0)], need(0, 1), planner(), quiet);
    expect(d?.reason).toBe('boot cancelled: not needed any more (WHY); no more idle agents are worth keeping (arrivals at this hour × boot = 0.05)');
  });
});
