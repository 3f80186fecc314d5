import type { Policy } from './types.js';

/**
 * woodpecker-ci/autoscaler `engine/autoscaler.go` (`calcAgents`, `drainAgents`,
 * `removeDrainedAgents`), every minute:
 * available = ceil((free slots + running) / workflows per agent), required = ceil((pending +
 * running) / workflows per agent), change = ceil(required − (available + pool agents)), clamped
 * to [min − pool, max − pool]. Up: deploy that many agents. Down: drain agents that have
 * contacted the server and have not worked for the idle timeout (10 min); a drained agent with
 * no task is removed in the same reconcile.
 *
 * As published, running agents are counted twice (once in `available`, once as pool agents),
 * so while agents are busy new work waits for them instead of buying more: kept as written.
 * LastWork is modelled as the last poll that saw the agent busy.
 */
export function woodpeckerAutoscaler(o: { min: number; max: number; concurrency: number; idleTimeoutMs?: number; periodMs?: number }): Policy {
  const idleTimeout = o.idleTimeoutMs ?? 10 * 60_000;
  const lastWork = new Map<string, number>();
  return {
    name: `woodpecker-autoscaler min=${o.min}`,
    periodMs: o.periodMs ?? 60_000,
    floor: o.min,
    step(w) {
      for (const id of w.busy.keys()) lastWork.set(id, w.now);
      const connected = w.fleet.filter((i) => i.agent === 'running');
      const freeSlots = connected.reduce((n, i) => n + Math.max(0, o.concurrency - (w.busy.get(i.instanceId) ?? 0)), 0);
      const available = Math.ceil((freeSlots + w.running) / o.concurrency);
      const required = Math.ceil((w.pending + w.running) / o.concurrency);
      const pool = w.fleet.length;
      let change = Math.ceil(required - (available + pool));
      change = Math.max(change, -(pool - o.min));
      change = Math.min(change, o.max - pool);
      if (change > 0) return { launch: change };
      if (change < 0) {
        const drain = connected.filter((i) => !w.busy.has(i.instanceId) && w.now - (lastWork.get(i.instanceId) ?? 0) >= idleTimeout).slice(0, -change);
        for (const i of drain) lastWork.delete(i.instanceId);
        return { terminate: drain.map((i) => i.instanceId) };
      }
      return {};
    },
  };
}
