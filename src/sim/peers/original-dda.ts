import type { Policy } from './types.js';

/**
 * The original drone-dynamic-agents (fommil; "Functional Programming for Mortals", `DynAgents`
 * `NeedsAgent` / `Stale`): at most one node. Start it when there is a backlog, no agent, and
 * nothing alive or pending. Stop every alive, not-pending node when the backlog is 0 and it is in
 * minute 58+ of its hour, or when it is 5 hours old (even mid-build: the financial safety net).
 * A start or stop stays pending for 10 minutes or until the alive set changes. Called every
 * minute here (the 58th-minute window needs a caller at least every 2 minutes).
 */
export function originalDda(o: { periodMs?: number } = {}): Policy {
  const pendingUntil = new Map<string, number>();
  let startedAt: number | null = null;
  let lastAlive = new Set<string>();
  return {
    name: 'original drone-dynamic-agents',
    periodMs: o.periodMs ?? 60_000,
    floor: 0,
    step(w) {
      const alive = new Set(w.fleet.map((i) => i.instanceId));
      // update: a pending action ends when the alive set changes for it, or after 10 minutes
      for (const id of [...pendingUntil.keys()]) {
        const changed = alive.has(id) !== lastAlive.has(id);
        if (changed || w.now >= pendingUntil.get(id)!) pendingUntil.delete(id);
      }
      if (startedAt !== null && w.now >= startedAt + 10 * 60_000) startedAt = null;
      if (startedAt !== null && alive.size > 0) startedAt = null;
      lastAlive = alive;
      const agents = w.fleet.filter((i) => i.agent === 'running').length;
      if (w.pending > 0 && agents === 0 && alive.size === 0 && pendingUntil.size === 0 && startedAt === null) {
        startedAt = w.now;
        return { launch: 1 };
      }
      const stale = w.fleet.filter((i) => {
        if (pendingUntil.has(i.instanceId)) return false;
        const ageMin = Math.floor((w.now - i.launchedAt) / 60_000);
        return (w.pending === 0 && ageMin % 60 >= 58) || w.now - i.launchedAt >= 5 * 3_600_000;
      });
      for (const i of stale) pendingUntil.set(i.instanceId, w.now + 10 * 60_000);
      return stale.length ? { terminate: stale.map((i) => i.instanceId) } : {};
    },
  };
}
