/**
 * The one clock. Logic never reads time; it receives `now` in events. Sources, interpreters,
 * streams and the logger read it from here, so the simulator can swap in virtual time.
 * Times are milliseconds since the Unix epoch.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * The value of `work` if it settles within `ms` on `clock`, else `timedOut` (the work goes on;
 * `onTimeout` may abort it). A rejection passes through.
 */
export function within<T, U>(clock: Clock, work: Promise<T>, ms: number, timedOut: U, onTimeout?: () => void): Promise<T | U> {
  return new Promise<T | U>((resolve, reject) => {
    const t = clock.setTimeout(() => {
      onTimeout?.();
      resolve(timedOut);
    }, ms);
    work.then(
      (v) => {
        clock.clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clock.clearTimeout(t);
        reject(e);
      },
    );
  });
}
