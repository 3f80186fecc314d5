import { catchError, defer, exhaustMap, map, Observable, of, retry, throwError, timeout, timer, type SchedulerLike } from 'rxjs';
import type { Clock } from '../domain/clock.js';

export type PollOutcome<T> = { ok: true; value: T; startedAt: number } | { ok: false; error: unknown; startedAt: number; attempts: number };

export interface PollOptions {
  periodMs: number;
  timeoutMs: number;
  /** Retries within one cycle before the cycle counts as failed. */
  retries: number;
  retryBaseMs: number;
  scheduler: SchedulerLike;
  clock: Clock;
  timeoutError: () => Error;
}

/**
 * Poll on an interval with no overlap (a slow poll makes the next cycle wait, it does not
 * stack), a timeout that aborts the call, and retries with exponential backoff inside a
 * cycle. Never errors: a cycle that fails reports `ok: false` — the caller decides that
 * means unknown.
 */
export function poll$<T>(fn: (signal: AbortSignal) => Promise<T>, o: PollOptions): Observable<PollOutcome<T>> {
  return timer(0, o.periodMs, o.scheduler).pipe(
    exhaustMap(() => {
      const startedAt = o.clock.now();
      let attempts = 0;
      return defer(() => {
        attempts++;
        return call(fn).pipe(timeout({ first: o.timeoutMs, scheduler: o.scheduler, with: () => throwError(o.timeoutError) }));
      }).pipe(
        retry({ count: o.retries, delay: (_e, n) => timer(o.retryBaseMs * 2 ** (n - 1), o.scheduler) }),
        map((value): PollOutcome<T> => ({ ok: true, value, startedAt })),
        catchError((error: unknown) => of<PollOutcome<T>>({ ok: false, error, startedAt, attempts })),
      );
    }),
  );
}

/** A promise-returning call as an observable whose unsubscription aborts it. */
function call<T>(fn: (signal: AbortSignal) => Promise<T>): Observable<T> {
  return new Observable<T>((sub) => {
    const ac = new AbortController();
    let settled = false;
    fn(ac.signal).then(
      (v) => {
        settled = true;
        sub.next(v);
        sub.complete();
      },
      (e: unknown) => {
        settled = true;
        sub.error(e);
      },
    );
    // Only a call still in flight needs aborting; aborting a settled one does nothing but
    // build a DOMException (with its stack) on every poll — the simulator's hottest path.
    return () => {
      if (!settled) ac.abort();
    };
  });
}
