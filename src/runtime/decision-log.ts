import type { Actor } from 'xstate';
import type { Logger } from '../log/logger.js';
import type { Decision } from '../planner/types.js';
import type { SupervisorMachine } from '../../machines/supervisor/supervisor.machine.js';

/**
 * One `decision` line per planner decision. A hold is logged when it starts, not again on
 * every planning round it stays in force (rounds, not instants: two rounds in one instant, one
 * holding and the next not, end the hold; a replay that skips rounds in which nothing changes
 * then logs what a run of every round logs).
 */
export function logDecisions(supervisor: Actor<SupervisorMachine>, logger: Logger, onDecision?: (d: Decision, now: number, first: boolean) => void): void {
  const plannerLog = logger.child({ name: 'planner' });
  let heldBefore = new Set<string>();
  let heldNow = new Set<string>();
  supervisor.on('decision', ({ decision: d, now, first }) => {
    if (first) {
      // A new planning round: holds still in force are not logged again.
      heldBefore = heldNow;
      heldNow = new Set();
    }
    if (d.kind === 'hold') {
      const id = `${d.pool}/${d.code}`;
      heldNow.add(id);
      if (!heldBefore.has(id)) plannerLog.info({ decision: 'hold', pool: d.pool, code: d.code, reason: d.reason }, 'decision');
    } else {
      plannerLog.info({ decision: d.kind, pool: d.pool, ...('key' in d ? { key: d.key } : {}), ...(d.kind === 'launch' ? { count: d.count } : {}), reason: d.reason }, 'decision');
    }
    onDecision?.(d, now, first);
  });
}

/** An instance ended by force (a spot interruption, a vanished machine) is worth a warning. */
export function logForcedEnds(supervisor: Actor<SupervisorMachine>, log: Logger): void {
  supervisor.on('released', (r) => {
    if (r.forced) log.warn({ key: r.key, instance: r.instanceId, pool: r.pool, reason: r.reason }, 'instance ended by force');
  });
}
