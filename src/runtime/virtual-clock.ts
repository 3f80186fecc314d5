import type { Clock } from '../domain/clock.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
  /** A periodic poll or tick, re-armed by its own firing every `periodMs`: see `skipQuiet`. */
  periodic?: Periodic;
}

/** How a timer re-armed by its own firing every `periodMs` hears of firings dropped by a skip. */
export interface Periodic {
  periodMs: number;
  onSkip?: (firings: number) => void;
}

/** A common period longer than this (odd, unrelated cadences) is not worth skipping by. */
const MAX_COMMON_PERIOD_MS = 86_400_000;

/**
 * Virtual time for the simulator and tests: timers fire in (time, creation) order as fast as
 * the CPU allows. Between instants the run yields to the event loop so promise chains
 * (sources, interpreters) settle before time moves on, as they would in real time.
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private heap: Timer[] = [];
  constructor(start: number) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number, periodic?: Periodic): unknown {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false, ...(periodic ? { periodic } : {}) };
    this.push(timer);
    return timer;
  }
  clearTimeout(handle: unknown): void {
    if (handle && typeof handle === 'object' && 'cancelled' in handle) (handle as Timer).cancelled = true;
  }
  get pending(): number {
    return this.heap.length;
  }
  /**
   * Fire timers up to `until` (inclusive), stopping early when `stop()` says so.
   * Returns the time reached. `quietUntil`, asked between instants, says until when (exclusive)
   * every periodic timer's firing would change nothing but what `onSkip` is told (see
   * `skipQuiet`); -Infinity when something may change now.
   */
  async runUntil(until: number, stop: () => boolean = () => false, quietUntil?: () => number): Promise<number> {
    await settle();
    while (this.heap.length > 0 && !stop()) {
      // A cancelled timer (a poll's timeout after the poll answered, a rescheduled interval)
      // fires nothing: drop it without making its time an instant of its own.
      if (this.heap[0]!.cancelled) {
        this.pop();
        continue;
      }
      if (quietUntil && this.heap[0]!.periodic) this.skipQuiet(Math.min(until, quietUntil()));
      const next = this.heap[0]!;
      if (next.at > until) break;
      this.t = Math.max(this.t, next.at);
      // Fire everything due at this instant, then let promise chains settle once.
      while (this.heap.length > 0 && this.heap[0]!.at <= this.t) {
        const timer = this.pop()!;
        if (!timer.cancelled) timer.fn();
      }
      await settle();
    }
    if (!stop() && until !== Infinity) this.t = Math.max(this.t, until);
    return this.t;
  }

  /**
   * Drop whole rounds of periodic firings before `bound` (and before any other timer: those
   * are when something changes): every periodic timer moves on by the same k × L, L a common
   * multiple of their periods, so they keep their phases; each hears how many firings it
   * missed. They are re-armed in the order they were armed, after every timer there is, as
   * their last dropped firings would have re-armed them: at an instant shared with another
   * timer they fire in the order they would have.
   */
  private skipQuiet(bound: number): void {
    const periodic: Timer[] = [];
    let common = 1;
    let last = -Infinity;
    for (const x of this.heap) {
      if (x.cancelled) continue;
      if (!x.periodic) {
        bound = Math.min(bound, x.at);
        continue;
      }
      const p = x.periodic.periodMs;
      if (!Number.isInteger(p) || p <= 0) return;
      common = lcm(common, p);
      if (common > MAX_COMMON_PERIOD_MS) return;
      last = Math.max(last, x.at);
      periodic.push(x);
    }
    const rounds = Math.floor((bound - last) / common);
    if (periodic.length === 0 || !(rounds >= 1)) return;
    const shift = rounds * common;
    periodic.sort((a, b) => a.seq - b.seq);
    for (const x of periodic) {
      x.at += shift;
      x.seq = this.seq++;
      x.periodic!.onSkip?.(shift / x.periodic!.periodMs);
    }
    this.heap = this.heap.filter((x) => !x.cancelled).sort((a, b) => (less(a, b) ? -1 : 1));
  }

  private push(x: Timer): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }
  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const lcm = (a: number, b: number) => (a / gcd(a, b)) * b;

const less = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
const settle = () => new Promise<void>((r) => setImmediate(r));

/**
 * Wait for `work` that may need virtual time — a halt waits for commands in flight up to their
 * deadline, a timer on this clock. If it is not done once pending promises have settled, move
 * virtual time on, at most `boundMs`, until it is (a call that never answers then ends at its
 * deadline, as in real time). Work that needs no time leaves the clock where it was. True when
 * the work finished within the bound.
 */
export async function awaitOnVirtualTime(clock: VirtualClock, work: Promise<unknown>, boundMs: number): Promise<boolean> {
  let done = false;
  void work.then(() => {
    done = true;
  });
  for (let i = 0; i < 20 && !done; i++) await settle();
  if (!done) await clock.runUntil(clock.now() + boundMs, () => done);
  if (done) await work;
  return done;
}

