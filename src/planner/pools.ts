import type { PoolConfig } from '../config/config.js';
import type { Stage } from '../ports/queue-source.js';
import { matchPools } from '../sources/match-pools.js';

export interface PoolWork {
  /** Stages waiting for an agent (no agent has accepted them). */
  pending: number;
  /** Stages on our agents (running, or accepted and about to run): each holds a slot. */
  onOurAgents: number;
}

export interface PoolGrouping {
  byPool: Map<string, PoolWork>;
  /** Stages whose demand no configured pool serves: reported, never silently dropped. */
  unmatched: Stage[];
}

/**
 * The work each pool must serve, by Drone's exact-match rule (`matchPools`). Work accepted by
 * agents that are not ours (a static runner beside the fleet), or running somewhere we cannot
 * name, is already served and is not counted.
 */
export function groupByPool(stages: readonly Stage[], pools: readonly PoolConfig[], ourAgents: ReadonlySet<string>): PoolGrouping {
  const ours = stages.filter((s) => (s.agent ? ourAgents.has(s.agent) : s.status !== 'running'));
  const match = matchPools(ours, pools);
  const byPool = new Map<string, PoolWork>();
  for (const [pool, list] of match.byPool) {
    const onOurAgents = list.filter((s) => s.agent).length;
    byPool.set(pool, { pending: list.length - onOurAgents, onOurAgents });
  }
  return { byPool, unmatched: match.unmatched };
}
