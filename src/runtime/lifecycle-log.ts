import type { InspectionEvent, Observer } from 'xstate';
import type { Logger } from '../log/logger.js';
import type { InstanceContext } from '../../machines/instance/instance.machine.js';
import { statePath } from '../../machines/instance/instance.machine.js';

export interface Transition {
  machine: 'instance' | 'supervisor';
  key: string;
  instance: string | null;
  pool: string | null;
  from: string;
  to: string;
  event: string;
  reason: string;
  forced: boolean;
}

/**
 * Watches the actor system and reports every state change of an instance actor or the
 * supervisor as one Transition: the lifecycle log line, and the feed of the status page.
 * Built on XState's inspection API, so the machines stay free of logging.
 */
export function transitionObserver(onTransition: (t: Transition) => void): Observer<InspectionEvent> {
  const last = new Map<string, string>();
  return {
    next(ev) {
      if (ev.type !== '@xstate.snapshot') return;
      const snap = ev.snapshot as { value?: unknown; context?: unknown; machine?: { id: string } };
      const machine = snap.machine?.id;
      if (machine !== 'instance' && machine !== 'supervisor') return;
      const to = statePath(snap.value);
      const id = ev.actorRef.sessionId;
      const from = last.get(id);
      if (from === to) return;
      last.set(id, to);
      if (to === 'terminated' || to === 'stopped') last.delete(id);
      if (machine === 'instance') {
        const c = snap.context as InstanceContext;
        onTransition({ machine, key: c.key, instance: c.instanceId, pool: c.pool, from: from ?? '(new)', to, event: ev.event.type, reason: c.reason, forced: c.forced });
      } else {
        onTransition({ machine, key: 'supervisor', instance: null, pool: null, from: from ?? '(new)', to, event: ev.event.type, reason: ev.event.type === 'QUEUE_UNKNOWN' ? String((ev.event as { error?: unknown }).error) : '', forced: false });
      }
    },
  };
}

export function logTransition(logger: Logger, t: Transition): void {
  const line = { instance: t.instance ?? t.key, key: t.key, pool: t.pool, from: t.from, to: t.to, event: t.event, reason: t.reason, ...(t.forced ? { forced: true } : {}) };
  if (t.machine === 'supervisor') logger.info({ from: t.from, to: t.to, event: t.event, reason: t.reason }, 'supervisor mode');
  else if (t.forced && (t.to.startsWith('draining') || t.to === 'terminated') && !t.from.startsWith('draining')) logger.warn(line, 'lifecycle');
  else logger.info(line, 'lifecycle');
}
