import type { Actor } from 'xstate';
import { describeError } from '../domain/errors.js';
import type { Logger } from '../log/logger.js';
import type { InstanceNotice } from '../ports/interruption-source.js';
import type { QueueSource } from '../ports/queue-source.js';

type Restarter = Pick<QueueSource, 'kind'> & Required<Pick<QueueSource, 'restartBuild'>>;
import { buildsOn } from '../../machines/supervisor/selectors.js';
import type { SupervisorMachine } from '../../machines/supervisor/supervisor.machine.js';

/**
 * Builds killed by the infrastructure are run again, once (DDA_RESTART_INTERRUPTED_BUILDS).
 *
 * An instance taken by the infrastructure — the instance actor was forced out by a
 * SPOT_INTERRUPTION (a spot warning, a rebalance recommendation, scheduled maintenance, a stop
 * we did not ask for) or an INSTANCE_GONE (terminated under us) — is watched from that moment:
 * every build the queue shows on its agent is remembered. When the instance is gone, each of
 * those builds is restarted through the CI server, which restarts only a build it still has
 * unfinished (one that finished during the two-minute warning is left alone). A drain we chose
 * is not forced and is never watched; an agent that stopped by itself (AGENT_STOPPED) is not the
 * infrastructure's doing either. A build is restarted once at most, whatever happens after.
 */

export type RestartReason = 'spot-interruption' | 'rebalance' | 'scheduled-change' | 'instance-stopped' | 'instance-gone';
export const RESTART_REASONS: readonly RestartReason[] = ['spot-interruption', 'rebalance', 'scheduled-change', 'instance-stopped', 'instance-gone'];

export interface BuildRestartsOptions {
  source: Restarter;
  logger: Logger;
  /** Deadline of one restart (its lookups and its POST). */
  timeoutMs: number;
  onRestart?: (source: string, reason: RestartReason) => void;
}

export interface BuildRestarts {
  /** A notice from the interruption queue: it names the reason of a forced end that follows. */
  noticed(n: InstanceNotice): void;
  /** Restarts in flight have ended (for tests and shutdown). */
  idle(): Promise<void>;
}

/** Remembered restarted builds; the oldest are forgotten beyond this (a build restarted days ago does not come back). */
const REMEMBERED = 10_000;

const FORCING_EVENTS = new Set(['SPOT_INTERRUPTION', 'INSTANCE_GONE']);

export function restartInterruptedBuilds(supervisor: Actor<SupervisorMachine>, o: BuildRestartsOptions): BuildRestarts {
  const log = o.logger.child({ name: 'runtime.build-restarts' });
  const notices = new Map<string, RestartReason>();
  /** Instances taken by the infrastructure, not yet gone: their reason and the builds seen on them. */
  const watched = new Map<string, { reason: RestartReason; builds: Set<string> }>();
  const restarted = new Set<string>();
  const inFlight = new Set<Promise<void>>();

  const reasonOf = (instance: string, event: string): RestartReason => notices.get(instance) ?? (event === 'INSTANCE_GONE' ? 'instance-gone' : 'spot-interruption');

  supervisor.on('transition', (t) => {
    if (!t.forced || t.instance === null || !FORCING_EVENTS.has(t.event) || watched.has(t.instance)) return;
    if (t.fromPhase === 'draining' || t.fromPhase === 'terminated') return;
    watched.set(t.instance, { reason: reasonOf(t.instance, t.event), builds: new Set(buildsOn(supervisor.getSnapshot(), t.instance)) });
  });

  // While it drains, a build the queue shows on it (accepted in the last seconds) is watched too.
  supervisor.subscribe((s) => {
    for (const [instance, w] of watched) for (const b of buildsOn(s, instance)) w.builds.add(b);
  });

  supervisor.on('released', (r) => {
    if (r.instanceId === null) return;
    const w = watched.get(r.instanceId);
    notices.delete(r.instanceId);
    if (!w) return;
    watched.delete(r.instanceId);
    for (const b of buildsOn(supervisor.getSnapshot(), r.instanceId)) w.builds.add(b);
    for (const build of w.builds) {
      if (restarted.has(build)) continue;
      // Remembered before the call: an answer lost on the way must not lead to a second restart.
      restarted.add(build);
      if (restarted.size > REMEMBERED) restarted.delete(restarted.values().next().value!);
      const p = restart(build, w.reason, r.instanceId).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  });

  async function restart(build: string, reason: RestartReason, instance: string): Promise<void> {
    const source = o.source.kind;
    try {
      const r = await o.source.restartBuild(build, AbortSignal.timeout(o.timeoutMs));
      if (r.restarted) {
        log.info({ source, build: r.name, ...(r.next ? { next: r.next } : {}), reason, instance }, 'build restarted: its agent was taken by the infrastructure');
        o.onRestart?.(source, reason);
      } else {
        log.info({ source, build: r.name ?? build, reason, instance, why: r.why }, 'build not restarted');
      }
    } catch (e) {
      log.warn({ source, build, reason, instance, err: describeError(e) }, 'build restart failed: re-run it by hand');
    }
  }

  return {
    noticed(n) {
      const reason: RestartReason | undefined =
        n.kind === 'state-change' ? (n.state === 'stopping' || n.state === 'stopped' ? 'instance-stopped' : n.state === 'shutting-down' || n.state === 'terminated' ? 'instance-gone' : undefined) : n.kind;
      // The first notice names the cause: a warning, then the termination it warned of.
      if (reason && !notices.has(n.instanceId)) notices.set(n.instanceId, reason);
    },
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
