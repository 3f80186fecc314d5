import { filter, merge, Subject, Subscription, type SchedulerLike } from 'rxjs';
import type { Actor, InspectionEvent, Observer } from 'xstate';
import type { Config } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log/logger.js';
import type { Decision } from '../planner/types.js';
import type { CloudProvider } from '../ports/cloud-provider.js';
import type { IgnoredMessage, InstanceNotice, InterruptionSource } from '../ports/interruption-source.js';
import type { QueueSource } from '../ports/queue-source.js';
import { awaitsRegistration, instanceById, liveCount, queueWorthWatching, needsFastPolling } from '../../machines/supervisor/selectors.js';
import type { SupervisorEvent, SupervisorMachine } from '../../machines/supervisor/supervisor.machine.js';
import { clockScheduler } from './clock-scheduler.js';
import { routeCommands } from './commands.js';
import { logDecisions, logForcedEnds } from './decision-log.js';
import { logLifecycle } from './lifecycle-log.js';
import { createInterpreter, type CommandInFlight, type Interpreter } from './interpreter.js';
import type { Transition } from './lifecycle-log.js';
import { logReaped, reaper$ } from './reaper.js';
import { restartInterruptedBuilds, type BuildRestarts, type RestartReason } from './build-restarts.js';
import { fleetEvents$, interruptionEvents$, queueEvents$, ticks$, type AnswersRepeat, type StreamDeps } from './streams.js';
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
  /** Every decision of every planning round; `first`: it opens a round. */
  onDecision?: (d: Decision, now: number, first: boolean) => void;
  /** False for in-memory sources and clouds (the simulator): no AbortSignal per poll or command. */
  abortablePolls?: boolean;
  /** Launches held after the start; default lifecycle.goneGraceSeconds (see SupervisorOptions). */
  settleMs?: number;
  /** The cloud's interruption queue (AWS: SQS fed by EventBridge); absent = describe alone tells of interruptions. */
  interruptions?: InterruptionSource;
  /** Restart, once, the builds on an instance the infrastructure took (needs a source with `restartBuild`). */
  restartBuilds?: boolean;
  /** Every message of the interruption queue: a notice about one of ours, about another instance, or ignored. */
  onNotice?: (n: NoticeOutcome) => void;
  onBuildRestart?: (source: string, reason: RestartReason) => void;
  /**
   * The simulator's world vouching that the next queue poll / describe answers what the last
   * did: a replay on virtual time may then drop them while nothing else changes.
   */
  answersRepeat?: AnswersRepeat;
}

export type NoticeOutcome = { notice: InstanceNotice; ours: boolean } | { ignored: IgnoredMessage };

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
  const restarts = buildRestarts(o, supervisor, log);
  supervisor.start();

  // Describe calls are free; waiting for them is not: poll fast while anything is changing.
  const inTransition = () => needsFastPolling(supervisor.getSnapshot());
  const streams: StreamDeps = { rt, clock, scheduler: o.scheduler ?? clockScheduler(clock), log, abortable, ...(o.answersRepeat ? { repeats: o.answersRepeat } : {}) };
  const subscription = new Subscription();
  subscription.add(reaper$(cloud, streams).subscribe(logReaped(log)));
  subscription.add(
    merge(queueEvents$(source, streams, () => queueWorthWatching(supervisor.getSnapshot()), drained), fleetEvents$(cloud, streams, inTransition, () => awaitsRegistration(supervisor.getSnapshot())), ticks$(streams))
      .pipe(filter(() => supervisor.getSnapshot().status === 'active'))
      .subscribe((e) => observe(e, send, clock)),
  );
  if (o.interruptions) subscription.add(notices$(o, o.interruptions, supervisor, streams, restarts).subscribe((e) => observe(e, send, clock)));

  async function halt(): Promise<void> {
    subscription.unsubscribe();
    await Promise.all([interpreter.idle(), restarts?.idle()]);
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

/** The restarter, when asked for and the CI server can restart builds; a warning when it cannot. */
function buildRestarts(o: DaemonOptions, supervisor: Actor<SupervisorMachine>, log: Logger): BuildRestarts | undefined {
  if (!o.restartBuilds) return undefined;
  const source = o.source;
  if (!source.restartBuild) {
    log.warn({ source: source.kind }, `DDA_RESTART_INTERRUPTED_BUILDS: ${source.kind} builds are not restarted by the daemon (docs/ci-servers.md says why)`);
    return undefined;
  }
  return restartInterruptedBuilds(supervisor, {
    source: { kind: source.kind, restartBuild: source.restartBuild.bind(source) },
    logger: o.logger,
    timeoutMs: o.config.runtime.commandTimeoutSeconds * 1000,
    ...(o.onBuildRestart ? { onRestart: o.onBuildRestart } : {}),
  });
}

/**
 * Notices from the interruption queue, in the lifecycle log as they arrive (with when the cloud
 * sent them), on their way to the supervisor; an ignored message is one warning line.
 */
function notices$(o: DaemonOptions, source: InterruptionSource, supervisor: Actor<SupervisorMachine>, streams: StreamDeps, restarts: BuildRestarts | undefined) {
  const lifecycleLog = o.logger.child({ name: 'instance.lifecycle' });
  const log = o.logger.child({ name: 'runtime.daemon' });
  const ignored = (m: IgnoredMessage) => {
    log.warn({ source: source.kind, why: m.why, detail: m.detail }, 'interruption queue: message ignored and deleted');
    o.onNotice?.({ ignored: m });
  };
  return interruptionEvents$(source, streams, ignored).pipe(
    filter((e) => {
      if (e.type !== 'NOTICE') return true;
      const n = e.notice;
      const view = instanceById(supervisor.getSnapshot(), n.instanceId);
      o.onNotice?.({ notice: n, ours: view !== undefined });
      const line = { instance: n.instanceId, kind: n.kind, ...(n.state ? { state: n.state } : {}), ...(n.what ? { what: n.what } : {}), sentAt: new Date(n.sentAt).toISOString(), delayMs: e.at - n.sentAt };
      if (!view) {
        lifecycleLog.debug(line, 'cloud event about an instance not ours');
        return false;
      }
      restarts?.noticed(n);
      lifecycleLog.info({ ...line, key: view.key, pool: view.pool, phase: view.phase }, 'cloud event');
      return true;
    }),
  );
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
