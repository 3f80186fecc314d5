import { map, Observable, type SchedulerLike } from 'rxjs';
import type { RuntimeConfig } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import { DdaError, describeError, isDdaError } from '../domain/errors.js';
import type { Logger } from '../log/logger.js';
import type { CloudProvider } from '../ports/cloud-provider.js';
import type { IgnoredMessage, InterruptionSource } from '../ports/interruption-source.js';
import type { QueueSource } from '../ports/queue-source.js';
import type { SupervisorEvent } from '../../machines/supervisor/supervisor.machine.js';
import { periodFrom } from './clock-scheduler.js';
import { poll$, type PollOptions } from './poll.js';

/** What every observation stream runs on. */
export interface StreamDeps {
  rt: RuntimeConfig;
  clock: Clock;
  scheduler: SchedulerLike;
  log: Logger;
  /** False for in-memory sources and clouds (the simulator): no AbortSignal per poll. */
  abortable: boolean;
  /** Whether the next queue poll / describe would answer what the last did (see PollOptions.repeats). */
  repeats?: AnswersRepeat;
}

/** What the simulator's world can vouch for: the next queue poll, or describe, answers what the last did. */
export interface AnswersRepeat {
  queue: () => boolean;
  fleet: () => boolean;
}

/** A failing poll is reported when it starts failing, then every 20th time. */
const worthLogging = (failures: number) => failures === 1 || failures % 20 === 0;

function pollOptions(d: StreamDeps): Omit<PollOptions, 'periodMs' | 'timeoutError'> {
  const rt = d.rt;
  return { abortable: d.abortable, timeoutMs: rt.pollTimeoutSeconds * 1000, retries: rt.pollRetries, retryBaseMs: rt.retryBaseSeconds * 1000, scheduler: d.scheduler, clock: d.clock };
}

/** The CI queue, polled: QUEUE with what it showed, or QUEUE_UNKNOWN when a poll cycle failed. */
export function queueEvents$(source: QueueSource, d: StreamDeps, worthWatching: () => boolean, kick?: Observable<unknown>): Observable<SupervisorEvent> {
  const { rt, log } = d;
  let failures = 0;
  return poll$((signal) => source.poll(signal), {
    ...pollOptions(d),
    ...(kick ? { kick } : {}),
    ...(d.repeats ? { repeats: d.repeats.queue } : {}),
    // A queue poll is one cheap request; a build's end seen 10 s late is 10 s of an instance paid for nothing.
    periodMs: () => (worthWatching() ? Math.min(rt.queuePollBusySeconds, rt.queuePollSeconds) : rt.queuePollSeconds) * 1000,
    timeoutError: () => new DdaError('SOURCE_TIMEOUT', `${source.kind}: queue poll timed out after ${rt.pollTimeoutSeconds} s`),
  }).pipe(
    map((r): SupervisorEvent => {
      if (r.ok) {
        if (failures > 0) log.info({ source: source.kind, failedPolls: failures }, 'queue visible again');
        failures = 0;
        // Stamp with the poll's start: what the queue showed is only known to be true from then.
        return { type: 'QUEUE', snapshot: { at: r.startedAt, stages: r.value.stages }, ...(r.repeated ? { repeated: r.repeated } : {}) };
      }
      if (worthLogging(++failures)) log.warn({ source: source.kind, code: isDdaError(r.error) ? r.error.code : undefined, err: describeError(r.error), failedPolls: failures }, 'queue unknown');
      return { type: 'QUEUE_UNKNOWN', at: r.startedAt, error: describeError(r.error) };
    }),
  );
}

/**
 * The cloud's view of the fleet, polled: FLEET, or FLEET_UNKNOWN when a describe cycle failed.
 * Describe calls are free; waiting for them is not: poll fast while anything is changing.
 */
export function fleetEvents$(cloud: CloudProvider, d: StreamDeps, inTransition: () => boolean, registering: () => boolean = () => false): Observable<SupervisorEvent> {
  const { rt, log } = d;
  let failures = 0;
  return poll$((signal) => cloud.describe(signal), {
    ...pollOptions(d),
    ...(d.repeats ? { repeats: d.repeats.fleet } : {}),
    periodMs: () => (registering() ? Math.min(rt.fleetPollRegisteringSeconds, rt.fleetPollFastSeconds, rt.fleetPollSeconds) : inTransition() ? Math.min(rt.fleetPollFastSeconds, rt.fleetPollSeconds) : rt.fleetPollSeconds) * 1000,
    timeoutError: () => new DdaError('CLOUD_UNAVAILABLE', `${cloud.kind}: describe timed out after ${rt.pollTimeoutSeconds} s`),
  }).pipe(
    map((r): SupervisorEvent => {
      if (r.ok) {
        failures = 0;
        return { type: 'FLEET', snapshot: { at: r.startedAt, instances: r.value.instances } };
      }
      if (worthLogging(++failures)) log.warn({ cloud: cloud.kind, err: describeError(r.error), failedPolls: failures }, 'fleet unknown');
      return { type: 'FLEET_UNKNOWN', at: r.startedAt, error: describeError(r.error) };
    }),
  );
}

/**
 * The supervisor's clock tick (deadlines, planning). The first waits one period so the first
 * observations can arrive. As `timer(ms, ms, scheduler)`, but it tells a skipping clock that its
 * period never changes (periodFrom), so a replay may drop quiet ticks at once.
 */
export function ticks$(d: StreamDeps): Observable<SupervisorEvent> {
  const ms = d.rt.tickSeconds * 1000;
  return new Observable<SupervisorEvent>((sub) =>
    d.scheduler.schedule(function () {
      if (sub.closed) return;
      sub.next({ type: 'TICK', now: d.clock.now() });
      periodFrom(this, () => ms);
      this.schedule(undefined, ms);
    }, ms),
  );
}

/** A receive that answered nothing this fast did not long-poll: wait the rest before the next. */
const MIN_RECEIVE_MS = 1000;
const MAX_RECEIVE_BACKOFF_MS = 60_000;

/**
 * The interruption queue, read in a loop of long polls: a NOTICE per event about an instance, as
 * it arrives (seconds after the cloud sent it, not at the next describe). Ignored messages go to
 * `onIgnored`. A failing receive is retried with backoff, logged when it starts failing and then
 * every 20th time; unsubscribing aborts the poll in flight, so shutdown does not wait for it.
 */
export function interruptionEvents$(source: InterruptionSource, d: StreamDeps, onIgnored: (m: IgnoredMessage) => void): Observable<SupervisorEvent> {
  const { rt, log, clock, scheduler } = d;
  return new Observable<SupervisorEvent>((sub) => {
    const ac = new AbortController();
    const pause = (ms: number) => new Promise<void>((resolve) => sub.add(scheduler.schedule(resolve, ms)));
    let failures = 0;
    void (async () => {
      while (!ac.signal.aborted) {
        const startedAt = clock.now();
        try {
          const got = await source.receive(ac.signal);
          if (ac.signal.aborted) return;
          if (failures > 0) log.info({ source: source.kind, failedReceives: failures }, 'interruption queue readable again');
          failures = 0;
          for (const m of got) {
            if (m.kind === 'ignored') onIgnored(m);
            else sub.next({ type: 'NOTICE', at: clock.now(), notice: m });
          }
          const took = clock.now() - startedAt;
          if (got.length === 0 && took < MIN_RECEIVE_MS) await pause(MIN_RECEIVE_MS - took);
        } catch (e) {
          if (ac.signal.aborted) return;
          if (worthLogging(++failures)) log.warn({ source: source.kind, code: isDdaError(e) ? e.code : undefined, err: describeError(e), failedReceives: failures }, 'interruption queue: receive failed (describe still sees interruptions, later)');
          await pause(Math.min(MAX_RECEIVE_BACKOFF_MS, rt.retryBaseSeconds * 1000 * 2 ** Math.min(failures - 1, 16)));
        }
      }
    })();
    return () => ac.abort();
  });
}
