import type { Actor } from 'xstate';
import type { Logger } from '../log/logger.js';
import type { Decision } from '../planner/types.js';
import type { SupervisorMachine } from '../../machines/supervisor/supervisor.machine.js';

/**
 * One `decision` line per planner decision. A hold is logged when it starts, not again on
 * every planning round it stays in force.
 */
export function logDecisions(supervisor: Actor<SupervisorMachine>, logger: Logger, onDecision?: (d: Decision, now: number) => void): void {
  const plannerLog = logger.child({ name: 'planner' });
  const heldBefore = new Set<string>();
  let heldNow = new Set<string>();
  let lastDecisionAt = -1;
  supervisor.on('decision', ({ decision: d, now }) => {
    if (now !== lastDecisionAt) {
      // A new planning round: holds still in force are not logged again.
      heldBefore.clear();
      for (const h of heldNow) heldBefore.add(h);
      heldNow = new Set();
      lastDecisionAt = now;
    }
    if (d.kind === 'hold') {
      const id = `${d.pool}/${d.code}`;
      heldNow.add(id);
      if (!heldBefore.has(id)) plannerLog.info({ decision: 'hold', pool: d.pool, code: d.code, reason: d.reason }, 'decision');
    } else {
      plannerLog.info({ decision: d.kind, pool: d.pool, ...('key' in d ? { key: d.key } : {}), ...(d.kind === 'launch' ? { count: d.count } : {}), reason: d.reason }, 'decision');
    }
    onDecision?.(d, now);
  });
}

/** An instance ended by force (a spot interruption, a vanished machine) is worth a warning. */
export function logForcedEnds(supervisor: Actor<SupervisorMachine>, log: Logger): void {
  supervisor.on('released', (r) => {
    if (r.forced) log.warn({ key: r.key, instance: r.instanceId, pool: r.pool, reason: r.reason }, 'instance ended by force');
  });
}
