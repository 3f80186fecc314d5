import { describe, expect, it } from 'vitest';
import { DEFAULT_DEMAND } from '../../src/domain/pool.js';
import { instancesByPool, workByPool } from '../../src/planner/pools.js';
import type { Stage } from '../../src/ports/queue-source.js';
import { inst, pending, pool, runningOn, T0 } from './fixtures.js';

const ours = [inst(1, 'busy'), inst(2, 'requested')];
const POOLS = [pool()];
const acceptedBy = (agent: string): Stage => ({ id: `a-${agent}`, status: 'pending', demand: DEFAULT_DEMAND, agent, createdAt: T0 });

describe('pools: the work each pool must serve', () => {
  it.each<[string, Stage[], { pending: number; onOurAgents: number }]>([
    ['pending stages wait for an agent', pending(2), { pending: 2, onOurAgents: 0 }],
    ['running on our agent holds a slot', [runningOn('i-1')], { pending: 0, onOurAgents: 1 }],
    ['accepted by our agent holds a slot', [acceptedBy('i-1')], { pending: 0, onOurAgents: 1 }],
    ['on an agent not ours: already served', [runningOn('static-runner'), acceptedBy('static-runner')], { pending: 0, onOurAgents: 0 }],
    ['running on an agent we cannot name: already served', [runningOn(undefined)], { pending: 0, onOurAgents: 0 }],
  ])('%s', (_what, stages, expected) => {
    expect(workByPool(stages, [pool()], ours).byPool.get('default')).toEqual(expected);
  });

  // A new instance list comes with every instance's report; the grouping of a long queue is
  // kept while the instances' ids are the same, and made again when one comes or goes.
  it('keeps the grouping for a new list with the same ids; groups again when an id comes or goes', () => {
    const stages = [...pending(3), runningOn('i-1'), runningOn('i-3')];
    const same = workByPool(stages, POOLS, [inst(1, 'busy'), inst(2, 'booting')]);
    expect(workByPool(stages, POOLS, [inst(2, 'idle'), inst(1, 'busy')])).toBe(same);
    expect(same.byPool.get('default')).toEqual({ pending: 3, onOurAgents: 1 });
    const more = workByPool(stages, POOLS, [inst(1, 'busy'), inst(2, 'idle'), inst(3, 'busy')]);
    expect(more).not.toBe(same);
    expect(more.byPool.get('default')).toEqual({ pending: 3, onOurAgents: 2 });
    const fewer = workByPool(stages, POOLS, [inst(2, 'idle'), inst(3, 'busy')]);
    expect(fewer.byPool.get('default')).toEqual({ pending: 3, onOurAgents: 1 });
    expect(workByPool(stages, POOLS, [inst(1, 'busy'), inst(2, 'idle')]).byPool.get('default')).toEqual({ pending: 3, onOurAgents: 1 });
  });

  it('groups instances by configured pool, in order, keeping pools no longer configured', () => {
    const byPool = instancesByPool([inst(1, 'idle', { pool: 'gone' }), inst(2, 'busy')], [pool(), pool({ name: 'arm' })]);
    expect([...byPool].map(([p, is]) => `${p}:${is.map((i) => i.key).join(',')}`)).toEqual(['default:k2', 'arm:', 'gone:k1']);
  });
});
