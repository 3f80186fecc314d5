import type { Policy } from './types.js';

/**
 * drone/autoscaler `engine/planner.go` (with `engine/calc.go`), every 5 min:
 * capacity counts every non-stopped server (booting ones too); free = max(capacity − running −
 * buffer, 0); diff = ceil((pending − free) / concurrency). Up: min(diff, max − count) new
 * servers. Down: n = min(−diff, count − min) of the *running* servers, newest first, skipping
 * busy ones and those younger than the minimum age (55 min); nothing at all if running − n <
 * min. It never launches to reach its minimum: min only stops scale-down.
 */
export function droneAutoscaler(o: { min: number; max: number; concurrency: number; buffer?: number; minAgeMs?: number; periodMs?: number }): Policy {
  const buffer = o.buffer ?? 0;
  const minAge = o.minAgeMs ?? 55 * 60_000;
  return {
    name: `drone-autoscaler min=${o.min} max=${o.max}`,
    periodMs: o.periodMs ?? 5 * 60_000,
    floor: o.min,
    step(w) {
      const count = w.fleet.length;
      const capacity = count * o.concurrency;
      const free = Math.max(capacity - w.running - buffer, 0);
      const diff = Math.ceil((w.pending - free) / o.concurrency);
      if (diff > 0) return { launch: Math.max(0, count + diff >= o.max ? o.max - count : diff) };
      if (diff < 0) {
        let n = -diff;
        if (o.min > count - n) n = Math.max(count - o.min, 0);
        if (n === 0) return {};
        const running = w.fleet.filter((i) => i.agent === 'running').sort((a, b) => b.launchedAt - a.launchedAt);
        if (running.length - n < o.min) return {};
        const idle = running.filter((i) => !w.busy.has(i.instanceId) && w.now - i.launchedAt >= minAge);
        return { terminate: idle.slice(0, n).map((i) => i.instanceId) };
      }
      return {};
    },
  };
}
