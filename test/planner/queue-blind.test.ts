import { describe, expect, it } from 'vitest';
import { instancesByPool } from '../../src/planner/pools.js';
import { queueBlind } from '../../src/planner/queue-blind.js';
import type { World } from '../../src/planner/types.js';
import { briefs, fleet, inst, planner, pool, reasons, S, T0 } from './fixtures.js';

const queue = { known: false as const, since: T0, error: 'SOURCE_HTTP: 503' };
const pools = [pool(), pool({ name: 'arm' })];

describe('queue blindness', () => {
  it.each<[string, number, World['mode'], string, string[]]>([
    // what                                            blind (s)  mode       phases  → decisions
    ['short blindness: hold every pool', 60, 'running', 'iBc', ['hold:queue-unknown', 'hold:queue-unknown']],
    ['long blindness: drain idle and cancellable boots', 901, 'running', 'iBcbd', ['drain:k1', 'drain:k3', 'hold:queue-unknown', 'hold:queue-unknown']],
    ['exactly at blindHoldSeconds: drain', 900, 'running', 'i', ['drain:k1', 'hold:queue-unknown', 'hold:queue-unknown']],
    ['stopping while blind: drain at once', 1, 'stopping', 'i', ['drain:k1', 'hold:queue-unknown', 'hold:queue-unknown']],
  ])('%s', (_what, blindS, mode, phases, expected) => {
    const ds = queueBlind({ now: T0 + blindS * S, mode }, queue, pools, instancesByPool(fleet(phases), pools), planner({ blindHoldSeconds: 900 }));
    expect(briefs(ds)).toEqual(expected);
  });

  it('drains pool by pool, in configuration order', () => {
    const instances = [inst(1, 'idle', { pool: 'arm' }), inst(2, 'idle')];
    const ds = queueBlind({ now: T0 + 901 * S, mode: 'running' }, queue, pools, instancesByPool(instances, pools), planner());
    expect(ds.map((d) => `${d.pool}:${d.kind}`)).toEqual(['default:drain', 'default:hold', 'arm:drain', 'arm:hold']);
  });

  it.each([
    ['holding', 60, 'running', ['queue unknown for 60 s (SOURCE_HTTP: 503): holding, no launch and no drain']],
    ['draining', 901, 'running', ['queue unknown for 901 s (SOURCE_HTTP: 503): draining to zero', 'queue unknown for 901 s (SOURCE_HTTP: 503): no launches']],
    ['stopping', 1, 'stopping', ['daemon stopping', 'queue unknown for 1 s (SOURCE_HTTP: 503): no launches']],
  ] as const)('says how long and why (%s)', (_w, blindS, mode, expected) => {
    const ds = queueBlind({ now: T0 + blindS * S, mode }, queue, [pool()], instancesByPool(fleet('i'), [pool()]), planner());
    expect(reasons(ds)).toEqual(expected);
  });
});
