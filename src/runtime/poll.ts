import { Observable, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';
import type { Clock } from '../domain/clock.js';
import { periodFrom, skippedFirings } from './clock-scheduler.js';

/**
 * Polls a virtual clock dropped before this one, every `everyMs`, the last at `lastAt`, while
 * nothing could change their answer (src/runtime/virtual-clock.ts): they would have answered
 * what this one did.
 */
export interface RepeatedPolls {
  polls: number;
  everyMs: number;
  lastAt: number;
}

export type PollOutcome<T> = { ok: true; value: T; startedAt: number; repeated?: RepeatedPolls } | { ok: false; error: unknown; startedAt: number; attempts: number };

export interface PollOptions {
  /** Fixed, or asked again before each wait (e.g. faster while something is changing). */
  periodMs: number | (() => number);
  timeoutMs: number;
  /** Retries within one cycle before the cycle counts as failed. */
  retries: number;
  retryBaseMs: number;
  scheduler: SchedulerLike;
  clock: Clock;
  timeoutError: () => Error;
  /**
   * Give each attempt its own AbortSignal (default). In-memory sources that cannot hang may
   * opt out: building an AbortController per poll was 7% of a long simulated replay.
   */
  abortable?: boolean;
  /** Each emission starts a cycle at once, unless one is in flight (the period goes on as before). */
  kick?: Observable<unknown>;
  /**
   * Whether the next call would answer what the last one did (the simulator's world can tell):
   * a skipping clock may drop such polls while nothing else changes. Absent: any poll may bring
   * news, and none is dropped.
   */
  repeats?: () => boolean;
}

const ALWAYS_NEWS = () => true;

const NEVER_ABORTED = new AbortController().signal;

/**
 * Poll on an interval with no overlap (a slow poll makes the next cycle wait, it does not
 * stack), a timeout that aborts the call, and retries with exponential backoff inside a
 * cycle. Never errors: a cycle that fails reports `ok: false` — the caller decides that
 * means unknown.
 *
 * Behaves exactly as `timer(0, period).pipe(exhaustMap(() => defer(call).pipe(timeout(first),
 * retry({ delay: base·2^(n-1) }), map(ok), catchError(failed))))` over `scheduler`, in the same
 * order of scheduled work, but written out as one small state machine: this stream runs
 * twice per poll period for the whole life of the daemon, and a replay of months of traffic
 * spent a tenth of its time in the operator chain.
 */
export function poll$<T>(fn: (signal: AbortSignal) => Promise<T>, o: PollOptions): Observable<PollOutcome<T>> {
  return new Observable<PollOutcome<T>>((sub) => {
    const s = o.scheduler;
    /** The cycle in flight (exhaust: ticks while it runs are dropped). */
    let cycle: { startedAt: number; attempts: number; failures: number; repeated: RepeatedPolls | undefined } | null = null;
    /** Firings of the interval a virtual clock dropped, not yet told with an answer. */
    let dropped: RepeatedPolls | undefined;
    /** The attempt in flight: its abort, its timeout, whether it still counts. */
    let attempt: { ac: AbortController | null; settled: boolean; live: boolean; timer: Subscription | null } | null = null;
    let retryTimer: Subscription | null = null;

    const endAttempt = (): void => {
      const a = attempt;
      if (!a) return;
      attempt = null;
      a.live = false;
      a.timer?.unsubscribe();
      a.timer = null;
      // Only a call still in flight needs aborting; aborting a settled one builds a DOMException.
      if (!a.settled) a.ac?.abort();
    };

    const fail = (error: unknown): void => {
      const c = cycle!;
      endAttempt();
      if (c.failures++ < o.retries) {
        retryTimer = s.schedule(() => {
          retryTimer = null;
          start();
        }, o.retryBaseMs * 2 ** (c.failures - 1));
        return;
      }
      cycle = null;
      sub.next({ ok: false, error, startedAt: c.startedAt, attempts: c.attempts });
    };

    const start = (): void => {
      const c = cycle!;
      c.attempts++;
      const a = { ac: o.abortable === false ? null : new AbortController(), settled: false, live: true, timer: null as Subscription | null };
      attempt = a;
      let p: Promise<T>;
      try {
        p = fn(a.ac?.signal ?? NEVER_ABORTED);
      } catch (e) {
        a.settled = true;
        fail(e);
        return;
      }
      p.then(
        (value) => {
          a.settled = true;
          if (!a.live) return;
          endAttempt();
          cycle = null;
          sub.next(c.repeated ? { ok: true, value, startedAt: c.startedAt, repeated: c.repeated } : { ok: true, value, startedAt: c.startedAt });
        },
        (e: unknown) => {
          a.settled = true;
          if (a.live) fail(e);
        },
      );
      if (a.live) {
        a.timer = s.schedule(() => {
          a.timer = null;
          if (!a.live) return;
          endAttempt();
          let err: unknown;
          try {
            err = o.timeoutError();
          } catch (e) {
            err = e;
          }
          fail(err);
        }, o.timeoutMs);
      }
    };

    /** The interval's dropped firings not yet collected join those already collected. */
    const collect = (action: SchedulerAction<unknown>): void => {
      const skipped = skippedFirings(action);
      if (skipped.firings > 0) dropped = { polls: (dropped?.polls ?? 0) + skipped.firings, everyMs: skipped.everyMs, lastAt: skipped.lastAt };
    };
    const cycleNow = (): void => {
      // Dropped firings are collected whoever starts the cycle: a cycle kicked between the
      // interval's firings answers for those dropped before it; with one in flight, the next does.
      if (action) collect(action);
      if (sub.closed || cycle) return;
      cycle = { startedAt: o.clock.now(), attempts: 0, failures: 0, repeated: dropped };
      dropped = undefined;
      start();
    };
    const period = typeof o.periodMs === 'function' ? o.periodMs : () => o.periodMs as number;
    const repeats = o.repeats;
    const news = repeats ? () => !repeats() : ALWAYS_NEWS;
    /** The interval's scheduled action, once it ran (what a skipping clock counts its dropped firings on). */
    let action: SchedulerAction<unknown> | null = null;
    const interval = s.schedule(function () {
      action = this;
      cycleNow();
      periodFrom(this, period, news);
      if (!sub.closed) this.schedule(undefined, period());
    }, 0);
    const kicks = o.kick?.subscribe(cycleNow);

    return () => {
      kicks?.unsubscribe();
      interval.unsubscribe();
      retryTimer?.unsubscribe();
      retryTimer = null;
      endAttempt();
      cycle = null;
    };
  });
}
