import type { Clock } from '../domain/clock.js';

interface Timer {
  at: number;
  /**
   * The instant it was armed at; for a periodic timer moved by a skip, the instant its last
   * dropped firing would have re-armed it. Timers due at one instant fire in the order they
   * were armed, as `seq` alone would say if nothing were skipped.
   */
  armedAt: number;
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
    const timer: Timer = { at: this.t + Math.max(0, ms), armedAt: this.t, seq: this.seq++, fn, cancelled: false, ...(periodic ? { periodic } : {}) };
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
    // The instant since whose end it has been quiet throughout (no plain timer fired since):
    // a periodic timer armed after it chose its period in the quiet state, and keeps it.
    let quietSince: number | null = null;
    while (this.heap.length > 0 && !stop()) {
      // A cancelled timer (a poll's timeout after the poll answered, a rescheduled interval)
      // fires nothing: drop it without making its time an instant of its own.
      if (this.heap[0]!.cancelled) {
        this.pop();
        continue;
      }
      if (quietUntil && this.heap[0]!.periodic) {
        const bound = quietUntil();
        if (bound === -Infinity) quietSince = null;
        else this.skipQuiet(Math.min(until, bound), (quietSince ??= this.t));
      }
      const next = this.heap[0]!;
      if (next.at > until) break;
      this.t = Math.max(this.t, next.at);
      // Fire everything due at this instant, then let promise chains settle once.
      while (this.heap.length > 0 && this.heap[0]!.at <= this.t) {
        const timer = this.pop()!;
        if (timer.cancelled) continue;
        // Something may change at a plain timer (the world's, a deadline's).
        if (!timer.periodic) quietSince = null;
        timer.fn();
      }
      await settle();
    }
    if (!stop() && until !== Infinity) this.t = Math.max(this.t, until);
    return this.t;
  }

  /**
   * Drop the periodic firings before `bound` (and before any other timer: those are when
   * something changes): each periodic timer armed after `quietSince` moves on by a whole number
   * of its own periods, to its first firing at or after the bound, and hears how many it
   * missed. One armed earlier may have chosen its period (a poll's, which follows what it
   * found) before the quiet began: it fires once more, and is moved once re-armed. A moved timer
   * takes the place in the order its last dropped firing would have given it (armed then; two
   * re-armed at one instant keep their order), so at an instant shared with another timer they
   * fire in the order they would have.
   */
  private skipQuiet(bound: number, quietSince: number): void {
    const periodic: Timer[] = [];
    for (const x of this.heap) {
      if (x.cancelled) continue;
      if (!x.periodic) bound = Math.min(bound, x.at);
      else if (x.periodic.periodMs > 0 && Number.isFinite(x.periodic.periodMs)) periodic.push(x);
      else return;
    }
    if (!Number.isFinite(bound)) return;
    const moved: { x: Timer; firings: number; rearmedAt: number }[] = [];
    for (const x of periodic) {
      if (x.armedAt <= quietSince) continue;
      const p = x.periodic!.periodMs;
      const firings = Math.ceil((bound - x.at) / p);
      if (firings >= 1) moved.push({ x, firings, rearmedAt: x.at + (firings - 1) * p });
    }
    if (moved.length === 0) return;
    moved.sort((a, b) => a.rearmedAt - b.rearmedAt || a.x.seq - b.x.seq);
    for (const m of moved) {
      m.x.at += m.firings * m.x.periodic!.periodMs;
      m.x.armedAt = m.rearmedAt;
      m.x.seq = this.seq++;
      m.x.periodic!.onSkip?.(m.firings);
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

const less = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && (a.armedAt < b.armedAt || (a.armedAt === b.armedAt && a.seq < b.seq)));
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

