import type { PoolSpec } from '../domain/pool.js';
import type { Stage } from '../ports/queue-source.js';
import { matchPools } from './match-pools.js';
import type { InstanceView } from './types.js';

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
export function groupByPool(stages: readonly Stage[], pools: readonly PoolSpec[], ourAgents: ReadonlySet<string>): PoolGrouping {
  const ours = stages.filter((s) => (s.agent ? ourAgents.has(s.agent) : s.status !== 'running'));
  const match = matchPools(ours, pools);
  const byPool = new Map<string, PoolWork>();
  for (const [pool, list] of match.byPool) {
    const onOurAgents = list.filter((s) => s.agent).length;
    byPool.set(pool, { pending: list.length - onOurAgents, onOurAgents });
  }
  return { byPool, unmatched: match.unmatched };
}

/*
 * The planner runs after every queue poll, and most polls change neither the stages nor the
 * fleet: the grouping is kept per stage list and instance list (by identity, both immutable
 * inputs), so a quiet round costs nothing here however long the queue and big the fleet.
 */
const agentsOf = new WeakMap<readonly InstanceView[], ReadonlySet<string>>();
const groupingOf = new WeakMap<readonly Stage[], { pools: readonly PoolSpec[]; agents: ReadonlySet<string>; grouping: PoolGrouping }>();

/** The work of the stages on our agents: the ids of the instances we run. */
export function workByPool(stages: readonly Stage[], pools: readonly PoolSpec[], instances: readonly InstanceView[]): PoolGrouping {
  const ourAgents = agentIds(instances);
  const kept = groupingOf.get(stages);
  if (kept && kept.pools === pools && kept.agents === ourAgents) return kept.grouping;
  const grouping = groupByPool(stages, pools, ourAgents);
  groupingOf.set(stages, { pools, agents: ourAgents, grouping });
  return grouping;
}

/** The last set of ids made: an instance list whose instances changed state but none came or went gets it again. */
let lastAgents: ReadonlySet<string> = new Set();

/**
 * The ids of the instances, once per list; the same set object as the last list's when the ids
 * are the same (most new lists are one instance's new state), so the grouping above is kept.
 */
function agentIds(instances: readonly InstanceView[]): ReadonlySet<string> {
  let ids = agentsOf.get(instances);
  if (!ids) {
    const made = new Set<string>();
    for (const i of instances) if (i.instanceId) made.add(i.instanceId);
    ids = sameIds(made, lastAgents) ? lastAgents : made;
    agentsOf.set(instances, (lastAgents = ids));
  }
  return ids;
}

function sameIds(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const id of a) if (!b.has(id)) return false;
  return true;
}

const byPoolOf = new WeakMap<readonly InstanceView[], { pools: readonly PoolSpec[]; byPool: ReadonlyMap<string, readonly InstanceView[]> }>();

/** Instances by pool: every configured pool (maybe empty), then pools no longer configured. Once per list (a round and its horizon ask alike). */
export function instancesByPool(instances: readonly InstanceView[], pools: readonly PoolSpec[]): ReadonlyMap<string, readonly InstanceView[]> {
  const kept = byPoolOf.get(instances);
  if (kept && kept.pools === pools) return kept.byPool;
  const byPool = new Map<string, InstanceView[]>(pools.map((p) => [p.name, []]));
  for (const i of instances) (byPool.get(i.pool) ?? byPool.set(i.pool, []).get(i.pool)!).push(i);
  byPoolOf.set(instances, { pools, byPool });
  return byPool;
}
