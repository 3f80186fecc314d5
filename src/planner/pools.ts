import { demandKey } from '../domain/pool.js';
import type { PoolConfig } from '../config/config.js';
import type { Stage } from '../ports/queue-source.js';

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
 * Group the queue by the pool that can serve each stage, with Drone's exact-match rule
 * (same os, arch, variant, kernel and exactly the same labels). Work accepted by agents that
 * are not ours (a static runner beside the fleet) is already served and is not counted.
 */
export function groupByPool(stages: readonly Stage[], pools: readonly PoolConfig[], ourAgents: ReadonlySet<string>): PoolGrouping {
  const poolByDemand = new Map<string, string>();
  for (const p of pools) poolByDemand.set(demandKey(p.demand), p.name);
  const byPool = new Map<string, PoolWork>(pools.map((p) => [p.name, { pending: 0, onOurAgents: 0 }]));
  const unmatched: Stage[] = [];
  for (const s of stages) {
    if (s.agent) {
      if (!ourAgents.has(s.agent)) continue;
    } else if (s.status === 'running') {
      continue; // running somewhere we cannot name: not ours to serve
    }
    const pool = poolByDemand.get(demandKey(s.demand));
    if (pool === undefined) {
      unmatched.push(s);
      continue;
    }
    const w = byPool.get(pool)!;
    if (s.agent) w.onOurAgents++;
    else w.pending++;
  }
  return { byPool, unmatched };
}
