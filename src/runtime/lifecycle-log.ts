import type { Actor } from 'xstate';
import type { Logger } from '../log/logger.js';
import type { SupervisorMachine } from '../../machines/supervisor/supervisor.machine.js';
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

/**
 * The lifecycle log: one line per state change of an instance or of the supervisor's mode, as
 * the supervisor announces them; and a warning when it adopts an instance under an identity of
 * its own (two live instances carried one key).
 */
export function logLifecycle(supervisor: Actor<SupervisorMachine>, logger: Logger, onTransition?: (t: Transition) => void): void {
  const lifecycleLog = logger.child({ name: 'instance.lifecycle' });
  const log = logger.child({ name: 'runtime.daemon' });
  const transition = (t: Transition) => {
    logTransition(lifecycleLog, t);
    onTransition?.(t);
  };
  supervisor.on('transition', ({ type: _, ...t }) => transition({ machine: 'instance', ...t }));
  let mode: string | undefined;
  supervisor.on('mode', (m) => {
    if (m.mode === mode) return;
    transition({ machine: 'supervisor', key: 'supervisor', instance: null, pool: null, from: mode ?? '(new)', to: m.mode, fromPhase: null, toPhase: null, event: m.event, reason: m.reason, forced: false });
    mode = m.mode;
  });
  supervisor.on('spawned', (s) => {
    if (s.note) log.warn({ key: s.key, pool: s.pool }, s.note);
  });
}
