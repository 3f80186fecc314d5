import type { PoolSpec } from '../domain/pool.js';
import type { PoolWork } from './pools.js';
import type { InstanceView, PlannerSettings } from './types.js';

/** What a pool needs, and the sentence every decision about it carries. */
export interface Need {
  /** Uncapped, so that "at max" is a hold with a reason rather than a silent clamp. */
  wanted: number;
  /** Instances not draining. Requested and booting count: a slow boot is never bought twice. */
  active: number;
  /** wanted − active; above zero the pool wants launches. */
  shortfall: number;
  why: string;
}

/**
 * Sizing: agents wanted = ceil((pending + slots held on our agents) / concurrency), plus the
 * warm buffer while there is work, and never below the pool's minimum.
 */
export function sizing(pool: PoolSpec, work: PoolWork | undefined, instances: readonly InstanceView[], planner: Pick<PlannerSettings, 'warmBuffer'>): Need {
  const w = work ?? { pending: 0, onOurAgents: 0 };
  const active = instances.filter((i) => i.phase !== 'draining').length;
  const slots = w.pending + w.onOurAgents;
  const forWork = Math.ceil(slots / pool.concurrency) + (slots > 0 ? planner.warmBuffer : 0);
  const wanted = Math.max(forWork, pool.min);
  const why = `${w.pending} pending, ${w.onOurAgents} on our agents, ${pool.concurrency}/agent: want ${wanted}, have ${active}`;
  return { wanted, active, shortfall: wanted - active, why };
}

/** Active instances beyond what the pool needs (and beyond its max): what renewal may let go. */
export const beyondDemand = (pool: Pick<PoolSpec, 'max'>, need: Need): number => need.active - Math.min(need.wanted, pool.max);
