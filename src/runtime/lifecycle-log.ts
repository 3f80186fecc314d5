import type { Logger } from '../log/logger.js';
import type { ViewPhase } from '../../machines/instance/view.js';

/**
 * One state change of an instance actor or of the supervisor's mode, as the supervisor
 * announces it: the lifecycle log line, and the feed of the status page.
 */
export interface Transition {
  machine: 'instance' | 'supervisor';
  key: string;
  instance: string | null;
  pool: string | null;
  from: string;
  to: string;
  /** An instance's phases behind `from` and `to` (null for the supervisor, or before the first). */
  fromPhase: ViewPhase | null;
  toPhase: ViewPhase | null;
  event: string;
  reason: string;
  forced: boolean;
}

export function logTransition(logger: Logger, t: Transition): void {
  const line = { instance: t.instance ?? t.key, key: t.key, pool: t.pool, from: t.from, to: t.to, event: t.event, reason: t.reason, ...(t.forced ? { forced: true } : {}) };
  if (t.machine === 'supervisor') logger.info({ from: t.from, to: t.to, event: t.event, reason: t.reason }, 'supervisor mode');
  else if (t.forced && (t.toPhase === 'draining' || t.toPhase === 'terminated') && t.fromPhase !== 'draining') logger.warn(line, 'lifecycle');
  else logger.info(line, 'lifecycle');
}
