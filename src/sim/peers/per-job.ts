import type { Policy } from './types.js';

/**
 * One fresh agent per job (the original design's ideal), at its best: every instance is
 * single-use. Every poll it launches one instance per waiting job not yet covered by a fresh
 * (never used) instance, and terminates fresh instances beyond the waiting jobs, newest first
 * (those furthest from ready), so none survives a poll idle. At the instant an instance takes
 * its job(s) its agent is drained (like a runner started with --disconnect-after-job: it takes
 * nothing more), and at the instant it runs nothing any more it is terminated (the machine
 * shuts itself down when its agent exits). At concurrency > 1 an instance runs only the jobs it
 * took in one instant. It sees only what a poll shows at that instant.
 */
export function perJob(o: { concurrency: number; periodMs?: number }): Policy {
  const used = new Set<string>();
  /** Single-use: mark and drain whatever took work; end whatever has done its work. */
  const react = (w: Parameters<Policy['step']>[0]) => {
    const drain: string[] = [];
    for (const id of w.busy.keys()) {
      if (used.has(id)) continue;
      used.add(id);
      drain.push(id);
    }
    const terminate = w.fleet.filter((i) => used.has(i.instanceId) && !w.busy.has(i.instanceId)).map((i) => i.instanceId);
    for (const id of terminate) used.delete(id);
    return { drain, terminate };
  };
  return {
    name: 'one fresh agent per job',
    periodMs: o.periodMs ?? 15_000,
    floor: 0,
    onJobEvent: react,
    step(w) {
      const { drain, terminate } = react(w);
      const ending = new Set(terminate);
      const fresh = w.fleet.filter((i) => !used.has(i.instanceId) && !ending.has(i.instanceId)).sort((a, b) => a.launchedAt - b.launchedAt);
      const wanted = Math.ceil(w.pending / o.concurrency);
      const surplus = fresh.slice(wanted).map((i) => i.instanceId);
      return { drain, terminate: [...terminate, ...surplus], launch: Math.max(0, wanted - fresh.length) };
    },
  };
}
