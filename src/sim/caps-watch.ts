import type { Decision, HoldCode } from '../planner/types.js';

/** The caps a launch can run into, as the report names them. */
export type CapName = 'pool_max' | 'fleet_max' | 'budget';
export const CAP_NAMES: readonly CapName[] = ['pool_max', 'fleet_max', 'budget'];

const CAP_OF: Partial<Record<HoldCode, CapName>> = { 'at-pool-max': 'pool_max', 'at-fleet-max': 'fleet_max', 'over-budget': 'budget' };

export interface CapUse {
  /** Simulated time during which the last plan held a launch back on this cap. */
  boundMs: number;
  /** Jobs that waited, at some instant, in a pool this cap was holding back. */
  jobsWaited: number;
}

/**
 * Watches the planner's holds after every simulated instant: a cap binds from the plan that
 * holds a launch back on it until the next plan that does not (nothing changes between
 * instants, so the time is exact). A cap that binds while nobody waits (a warm buffer cut
 * short) counts its time but no jobs.
 */
export class CapsWatch {
  private lastAt: number | null = null;
  private bound = new Map<CapName, Set<string>>();
  private readonly ms = new Map<CapName, number>();
  private readonly jobs = new Map<CapName, Set<string>>();

  /** `holds`: the last plan's holds; `pending`: the jobs waiting for an agent now, read only while a cap binds. */
  step(now: number, holds: readonly Extract<Decision, { kind: 'hold' }>[], pending: () => readonly { id: string; pool: string | null }[]): void {
    if (this.lastAt !== null) for (const cap of this.bound.keys()) this.ms.set(cap, (this.ms.get(cap) ?? 0) + (now - this.lastAt));
    this.lastAt = now;
    this.bound = new Map();
    for (const h of holds) {
      const cap = CAP_OF[h.code];
      if (!cap) continue;
      const pools = this.bound.get(cap) ?? new Set<string>();
      pools.add(h.pool);
      this.bound.set(cap, pools);
    }
    if (this.bound.size === 0) return;
    const waiting = pending();
    for (const [cap, pools] of this.bound) {
      let seen = this.jobs.get(cap);
      if (!seen) this.jobs.set(cap, (seen = new Set()));
      for (const j of waiting) if (j.pool !== null && pools.has(j.pool)) seen.add(j.id);
    }
  }

  result(): Record<CapName, CapUse> {
    const use = (cap: CapName): CapUse => ({ boundMs: this.ms.get(cap) ?? 0, jobsWaited: this.jobs.get(cap)?.size ?? 0 });
    return { pool_max: use('pool_max'), fleet_max: use('fleet_max'), budget: use('budget') };
  }
}
