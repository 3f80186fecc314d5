import { createActor, type Actor, type InspectionEvent, type Observer } from 'xstate';
import type { Config } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log/logger.js';
import { supervisorMachine, type SupervisorEvent, type SupervisorMachine } from '../../machines/supervisor/supervisor.machine.js';

export interface SupervisorOptions {
  config: Config;
  clock: Clock;
  logger: Logger;
  /** Extra inspection observer (the XState inspector in development). */
  inspect?: Observer<InspectionEvent> | undefined;
  /**
   * How long launches are held after the start (default lifecycle.goneGraceSeconds): 0 when
   * launch intents account for what the last daemon launched (src/runtime/launch-intents.ts).
   */
  settleMs?: number | undefined;
}

/**
 * The supervisor actor, not yet started.
 * Its clock is the injected one, so the instance actors' timers run on real or virtual time.
 */
export function createSupervisor(o: SupervisorOptions): Actor<SupervisorMachine> {
  const { config, clock } = o;
  const rt = config.runtime;
  const lc = config.lifecycle;
  const now0 = clock.now();
  const supervisor = createActor(supervisorMachine, {
    clock,
    // Inspection costs a callback per actor step: only for the inspector (development).
    ...(o.inspect ? { inspect: o.inspect } : {}),
    input: {
      now: now0,
      keyPrefix: `${rt.daemonId}-${now0.toString(36)}`,
      pools: config.pools,
      planner: config.planner,
      timeouts: {
        launchMs: lc.launchTimeoutSeconds * 1000,
        bootMs: lc.bootTimeoutSeconds * 1000,
        drainMs: lc.drainTimeoutSeconds * 1000,
        terminateRetryMs: lc.terminateRetrySeconds * 1000,
      },
      goneGraceMs: lc.goneGraceSeconds * 1000,
      settleMs: o.settleMs ?? lc.goneGraceSeconds * 1000,
    },
  });
  return supervisor;
}

/** Send to the supervisor while it runs; after it stopped, late results and observations are dropped. */
export function sendWhileActive(supervisor: Actor<SupervisorMachine>): (e: SupervisorEvent) => void {
  return (e) => {
    if (supervisor.getSnapshot().status === 'active') supervisor.send(e);
  };
}
