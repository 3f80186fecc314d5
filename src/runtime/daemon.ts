import { filter, merge, Subject, Subscription, type SchedulerLike } from 'rxjs';
import type { Actor, InspectionEvent, Observer } from 'xstate';
import type { Config } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log/logger.js';
import type { Decision } from '../planner/types.js';
import type { CloudProvider } from '../ports/cloud-provider.js';
import type { QueueSource } from '../ports/queue-source.js';
import { liveCount, queueWorthWatching, needsFastPolling } from '../../machines/supervisor/selectors.js';
import type { SupervisorEvent, SupervisorMachine } from '../../machines/supervisor/supervisor.machine.js';
import { clockScheduler } from './clock-scheduler.js';
import { routeCommands } from './commands.js';
import { logDecisions, logForcedEnds } from './decision-log.js';
import { logLifecycle } from './lifecycle-log.js';
import { createInterpreter, type CommandInFlight, type Interpreter } from './interpreter.js';
import type { Transition } from './lifecycle-log.js';
import { logReaped, reaper$ } from './reaper.js';
import { fleetEvents$, queueEvents$, ticks$, type StreamDeps } from './streams.js';
import { createSupervisor, sendWhileActive } from './supervisor.js';

/**
 * Wiring: the CI queue and the cloud become RxJS poll streams, merged with a clock tick into
 * supervisor events; the instance actors' commands go to the interpreter, whose results come
 * back as events. RxJS owns the streams, XState owns the state, the injected clock owns time.
 */
export interface DaemonOptions {
  config: Config;
  source: QueueSource;
  cloud: CloudProvider;
  clock: Clock;
  logger: Logger;
  scheduler?: SchedulerLike;
  /** Extra inspection observer (the XState inspector in development). */
  inspect?: Observer<InspectionEvent>;
  /** Called for every lifecycle transition (after it is logged). */
  onTransition?: (t: Transition) => void;
  onDecision?: (d: Decision, now: number) => void;
  /** False for in-memory sources and clouds (the simulator): no AbortSignal per poll or command. */
  abortablePolls?: boolean;
  /** Launches held after the start; default lifecycle.goneGraceSeconds (see SupervisorOptions). */
  settleMs?: number;
}

export interface Daemon {
  readonly supervisor: Actor<SupervisorMachine>;
  readonly interpreter: Interpreter;
  /** Ask the daemon to stop: no launches, idle agents drained; resolves when the fleet is gone or `timeoutMs` passes. */
  stop(opts?: { timeoutMs?: number }): Promise<void>;
  /** Stop polling and the actors, leaving the fleet for the next daemon to adopt. Bounded by the command deadline. */
  halt(): Promise<void>;
  /** What a shutdown leaves now: instance actors alive and commands in flight. */
  leftBehind(): { instances: number; commands: CommandInFlight[] };
}

export function startDaemon(o: DaemonOptions): Daemon {
  const { config, source, cloud, clock, logger } = o;
  const rt = config.runtime;
  const log = logger.child({ name: 'runtime.daemon' });
  const abortable = o.abortablePolls ?? true;

  const supervisor = createSupervisor(o);
  const send = sendWhileActive(supervisor);
  // A drain that took effect is proved finished by the next queue poll showing the agent idle:
  // poll at once rather than up to a period later, which the instance would be billed for.
  const drained = new Subject<void>();
  const interpreter = createInterpreter({
    cloud,
    source,
    pools: config.pools,
    clock,
    logger,
    timeoutMs: rt.commandTimeoutSeconds * 1000,
    abortable,
    send: (key, event) => {
      send({ type: 'RESULT', key, event });
      if (event.type === 'DRAIN_STARTED') drained.next();
    },
  });
  routeCommands(supervisor, interpreter, log);
  logDecisions(supervisor, logger, o.onDecision);
  logForcedEnds(supervisor, log);
  logLifecycle(supervisor, logger, o.onTransition);
  supervisor.start();

  // Describe calls are free; waiting for them is not: poll fast while anything is changing.
  const inTransition = () => needsFastPolling(supervisor.getSnapshot());
  const streams: StreamDeps = { rt, clock, scheduler: o.scheduler ?? clockScheduler(clock), log, abortable };
  const subscription = new Subscription();
  subscription.add(reaper$(cloud, streams).subscribe(logReaped(log)));
  subscription.add(
    merge(queueEvents$(source, streams, () => queueWorthWatching(supervisor.getSnapshot()), drained), fleetEvents$(cloud, streams, inTransition), ticks$(streams))
      .pipe(filter(() => supervisor.getSnapshot().status === 'active'))
      .subscribe((e) => observe(e, send, clock)),
  );

  async function halt(): Promise<void> {
    subscription.unsubscribe();
    await interpreter.idle();
    supervisor.stop();
  }

  return {
    supervisor,
    interpreter,
    halt,
    async stop(opts = {}) {
      send({ type: 'STOP', now: clock.now() });
      await fleetGone(supervisor, clock, opts.timeoutMs ?? 10 * 60 * 1000, log);
      await halt();
    },
    leftBehind: () => ({ instances: liveCount(supervisor.getSnapshot()), commands: interpreter.pending() }),
  };
}

function observe(e: SupervisorEvent, send: (e: SupervisorEvent) => void, clock: Clock): void {
  send(e);
  // Decide as soon as the queue has been seen, not up to a tick later: by now the
  // instance actors have taken in what it showed, so the plan reads settled state.
  if (e.type === 'QUEUE' || e.type === 'QUEUE_UNKNOWN') send({ type: 'TICK', now: clock.now() });
}

/** Resolves when the stopping supervisor has no instance left, or when `timeoutMs` has passed. */
function fleetGone(supervisor: Actor<SupervisorMachine>, clock: Clock, timeoutMs: number, log: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const handle = clock.setTimeout(() => {
      sub.unsubscribe();
      log.warn({ live: liveCount(supervisor.getSnapshot()) }, 'stop deadline passed: leaving the remaining instances for the next daemon to adopt');
      resolve();
    }, timeoutMs);
    const sub = supervisor.subscribe((s) => {
      if (s.status === 'done') {
        clock.clearTimeout(handle);
        resolve();
      }
    });
    if (supervisor.getSnapshot().status === 'done') {
      clock.clearTimeout(handle);
      resolve();
    }
  });
}
