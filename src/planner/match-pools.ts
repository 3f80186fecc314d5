import { demandKey, type PoolSpec } from '../domain/pool.js';
import type { Stage } from '../ports/queue-source.js';

export interface PoolMatch {
  /** Every configured pool, in configuration order, with the stages it can serve (maybe none). */
  byPool: Map<string, Stage[]>;
  /** Stages no pool can serve: report them (log + counter), never drop them silently. */
  unmatched: Stage[];
}

/**
 * Group stages by the pool that can serve them, with Drone's rule: a runner takes a stage only
 * if os, arch, variant, kernel and the labels are exactly equal. When two pools declare the same
 * demand, the first one in configuration order gets the stage.
 */
export function matchPools(stages: readonly Stage[], pools: readonly PoolSpec[]): PoolMatch {
  const byPool = new Map<string, Stage[]>();
  const poolByKey = new Map<string, string>();
  for (const p of pools) {
    byPool.set(p.name, []);
    const key = demandKey(p.demand);
    if (!poolByKey.has(key)) poolByKey.set(key, p.name);
  }
  const unmatched: Stage[] = [];
  for (const s of stages) {
    const pool = poolByKey.get(demandKey(s.demand));
    if (pool === undefined) unmatched.push(s);
    else byPool.get(pool)!.push(s);
  }
  return { byPool, unmatched };
}
