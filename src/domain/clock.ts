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
