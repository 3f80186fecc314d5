import type { PoolSpec } from '../domain/pool.js';
import { drain, hold, releasable } from './decide.js';
import type { Decision, InstanceView, PlannerSettings, QueueView, World } from './types.js';

/**
 * Queue blindness: a queue we cannot see is never read as empty. Hold (no launch, no drain);
 * after `blindHoldSeconds`, or when stopping, drain idle agents and cancellable boots toward
 * zero — busy is stale when blind, idle as last seen is the best we know, and a draining agent
 * still finishes what it runs.
 */
export function queueBlind(
  world: Pick<World, 'now' | 'mode'>,
  queue: Extract<QueueView, { known: false }>,
  pools: readonly PoolSpec[],
  instancesByPool: ReadonlyMap<string, readonly InstanceView[]>,
  planner: Pick<PlannerSettings, 'blindHoldSeconds'>,
): Decision[] {
  const out: Decision[] = [];
  const blindS = Math.round((world.now - queue.since) / 1000);
  const unknown = `queue unknown for ${blindS} s (${queue.error})`;
  const drainAll = world.now - queue.since >= planner.blindHoldSeconds * 1000 || world.mode === 'stopping';
  for (const pool of pools) {
    if (!drainAll) {
      out.push(hold(pool.name, 'queue-unknown', `${unknown}: holding, no launch and no drain`));
      continue;
    }
    for (const i of (instancesByPool.get(pool.name) ?? []).filter(releasable)) {
      out.push(drain(i, world.mode === 'stopping' ? 'daemon stopping' : `${unknown}: draining to zero`));
    }
    out.push(hold(pool.name, 'queue-unknown', `${unknown}: no launches`));
  }
  return out;
}
