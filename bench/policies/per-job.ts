import type { Policy } from './types.js';

/**
 * One fresh agent per job (the original design's ideal): every poll, launch enough new
 * instances for the waiting jobs not yet covered by an instance that has not run anything;
 * terminate an instance as soon as it has run its job(s) and is idle. Never reused.
 */
export function perJob(o: { concurrency: number; periodMs?: number }): Policy {
  const used = new Set<string>();
  return {
    name: 'one fresh agent per job',
    periodMs: o.periodMs ?? 15_000,
    floor: 0,
    step(w) {
      for (const id of w.busy.keys()) used.add(id);
      const terminate = w.fleet.filter((i) => used.has(i.instanceId) && !w.busy.has(i.instanceId)).map((i) => i.instanceId);
      for (const id of terminate) used.delete(id);
      const fresh = w.fleet.filter((i) => !used.has(i.instanceId)).length;
      const launch = Math.max(0, Math.ceil(w.pending / o.concurrency) - fresh);
      return { launch, terminate };
    },
  };
}
