import { catchError, EMPTY, exhaustMap, filter, from, map, merge, of, Subscription, timer, type SchedulerLike } from 'rxjs';
import { createActor, type Actor, type InspectionEvent, type Observer } from 'xstate';
import type { Config } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import { DdaError, describeError, isDdaError } from '../domain/errors.js';
import type { Logger } from '../log/logger.js';
import type { Decision } from '../planner/types.js';
import type { CloudProvider } from '../ports/cloud-provider.js';
import type { QueueSource } from '../ports/queue-source.js';
import type { InstanceCommand } from '../../machines/instance/events.js';
import { liveCount, needsFastPolling } from '../../machines/supervisor/selectors.js';
import { supervisorMachine, type SupervisorEvent, type SupervisorMachine } from '../../machines/supervisor/supervisor.machine.js';
import { clockScheduler } from './clock-scheduler.js';
import { createInterpreter, type Interpreter } from './interpreter.js';
import { logTransition, type Transition } from './lifecycle-log.js';
import { poll$ } from './poll.js';

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
  /** False for in-memory sources and clouds (the simulator): no AbortSignal per poll. */
  abortablePolls?: boolean;
}

export interface Daemon {
  readonly supervisor: Actor<SupervisorMachine>;
  readonly interpreter: Interpreter;
  /** Ask the daemon to stop: no launches, idle agents drained; resolves when the fleet is gone or `timeoutMs` passes. */
  stop(opts?: { timeoutMs?: number }): Promise<void>;
  /** Stop polling and the actors at once, leaving the fleet for the next daemon to adopt. */
  halt(): Promise<void>;
}

export function startDaemon(o: DaemonOptions): Daemon {
  const { config, source, cloud, clock, logger } = o;
  const scheduler = o.scheduler ?? clockScheduler(clock);
  const rt = config.runtime;
  const lc = config.lifecycle;
  const log = logger.child({ name: 'runtime.daemon' });
  const lifecycleLog = logger.child({ name: 'instance.lifecycle' });
  const plannerLog = logger.child({ name: 'planner' });

  const now0 = clock.now();
  const supervisor = createActor(supervisorMachine, {
    clock,
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
      settleMs: lc.goneGraceSeconds * 1000,
    },
  });

  const send = (e: SupervisorEvent) => {
    if (supervisor.getSnapshot().status === 'active') supervisor.send(e);
  };
  const interpreter = createInterpreter({ cloud, source, pools: config.pools, clock, logger, send: (key, event) => send({ type: 'RESULT', key, event }) });

  // Each new instance actor's commands go to the interpreter. The supervisor announces a spawn
  // before the child starts, so its first command (launch) is not missed.
  supervisor.on('spawned', ({ key }) => {
    const child = supervisor.system.get(`instance.${key}`) as Actor<never> | undefined;
    if (!child) {
      log.error({ key }, 'spawned actor not found in the system');
      return;
    }
    (child as unknown as { on(t: '*', h: (e: InstanceCommand) => void): void }).on('*', (cmd) => interpreter.execute(cmd));
  });
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
    o.onDecision?.(d, now);
  });
  // The lifecycle log: one line per state change of an instance or of the supervisor's mode.
  const transition = (t: Transition) => {
    logTransition(lifecycleLog, t);
    o.onTransition?.(t);
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
  supervisor.on('released', (r) => {
    if (r.forced) log.warn({ key: r.key, instance: r.instanceId, pool: r.pool, reason: r.reason }, 'instance ended by force');
  });

  supervisor.start();

  const pollOpts = { abortable: o.abortablePolls ?? true, timeoutMs: rt.pollTimeoutSeconds * 1000, retries: rt.pollRetries, retryBaseMs: rt.retryBaseSeconds * 1000, scheduler, clock };
  let queueFailures = 0;
  const queue$ = poll$((signal) => source.poll(signal), {
    ...pollOpts,
    periodMs: rt.queuePollSeconds * 1000,
    timeoutError: () => new DdaError('SOURCE_TIMEOUT', `${source.kind}: queue poll timed out after ${rt.pollTimeoutSeconds} s`),
  }).pipe(
    map((r): SupervisorEvent => {
      if (r.ok) {
        if (queueFailures > 0) log.info({ source: source.kind, failedPolls: queueFailures }, 'queue visible again');
        queueFailures = 0;
        // Stamp with the poll's start: what the queue showed is only known to be true from then.
        return { type: 'QUEUE', snapshot: { at: r.startedAt, stages: r.value.stages } };
      }
      if (queueFailures++ === 0 || queueFailures % 20 === 0)
        log.warn({ source: source.kind, code: isDdaError(r.error) ? r.error.code : undefined, err: describeError(r.error), failedPolls: queueFailures }, 'queue unknown');
      return { type: 'QUEUE_UNKNOWN', at: r.startedAt, error: describeError(r.error) };
    }),
  );
  let fleetFailures = 0;
  // Describe calls are free; waiting for them is not: poll fast while anything is changing.
  const inTransition = () => needsFastPolling(supervisor.getSnapshot());
  const fleet$ = poll$((signal) => cloud.describe(signal), {
    ...pollOpts,
    periodMs: () => (inTransition() ? Math.min(rt.fleetPollFastSeconds, rt.fleetPollSeconds) : rt.fleetPollSeconds) * 1000,
    timeoutError: () => new DdaError('CLOUD_UNAVAILABLE', `${cloud.kind}: describe timed out after ${rt.pollTimeoutSeconds} s`),
  }).pipe(
    map((r): SupervisorEvent => {
      if (r.ok) {
        fleetFailures = 0;
        return { type: 'FLEET', snapshot: { at: r.startedAt, instances: r.value.instances } };
      }
      if (fleetFailures++ === 0 || fleetFailures % 20 === 0) log.warn({ cloud: cloud.kind, err: describeError(r.error), failedPolls: fleetFailures }, 'fleet unknown');
      return { type: 'FLEET_UNKNOWN', at: r.startedAt, error: describeError(r.error) };
    }),
  );
  // The first tick waits one period so the first observations can arrive.
  const tick$ = timer(rt.tickSeconds * 1000, rt.tickSeconds * 1000, scheduler).pipe(map((): SupervisorEvent => ({ type: 'TICK', now: clock.now() })));

  // Leftovers no instance owns (a container instance whose machine is gone, a task on no
  // container instance): at start, then now and then.
  const reaper$ = cloud.reapOrphans
    ? timer(0, rt.reapSeconds * 1000, scheduler).pipe(
        exhaustMap(() =>
          from(cloud.reapOrphans!()).pipe(
            catchError((e: unknown) => {
              log.warn({ cloud: cloud.kind, err: describeError(e) }, 'reaping orphans failed; will try again');
              return of([]);
            }),
          ),
        ),
      )
    : EMPTY;

  const subscription = new Subscription();
  subscription.add(
    reaper$.subscribe((reaped) => {
      for (const r of reaped) log.info({ kind: r.kind, id: r.id, reason: r.reason }, 'reaped orphan');
    }),
  );
  subscription.add(
    merge(queue$, fleet$, tick$)
      .pipe(filter(() => supervisor.getSnapshot().status === 'active'))
      .subscribe((e) => {
        send(e);
        // Decide as soon as the queue has been seen, not up to a tick later: by now the
        // instance actors have taken in what it showed, so the plan reads settled state.
        if (e.type === 'QUEUE' || e.type === 'QUEUE_UNKNOWN') send({ type: 'TICK', now: clock.now() });
      }),
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
      const timeoutMs = opts.timeoutMs ?? 10 * 60 * 1000;
      send({ type: 'STOP', now: clock.now() });
      await new Promise<void>((resolve) => {
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
      await halt();
    },
  };
}
