import type { Clock } from '../domain/clock.js';

interface Timer {
  at: number;
  /** The instant it was armed at (for a periodic timer moved by a skip, its last dropped firing). */
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
  /** `lastAt`: when the last of them would have fired. */
  onSkip?: (firings: number, lastAt: number) => void;
  /**
   * The period its next re-arming would choose now (a poll's follows what it saw). While it is
   * `periodMs`, the firings from here on are evenly spaced as long as nothing changes, so a skip
   * may move the timer at once rather than after one more firing.
   */
  periodNow?: () => number;
  /**
   * Its next firing would bring news (a poll whose answer changed since it last answered): it
   * fires at its time, the skip stops there, and the quiet starts afresh after it. Absent: its
   * firing only changes things with the time (a tick); the caller's quiet bound speaks for it.
   */
  news?: () => boolean;
}

/**
 * Virtual time for the simulator and tests: timers fire in (time, creation) order as fast as
 * the CPU allows. Between instants the run yields to the event loop so promise chains
 * (sources, interpreters) settle before time moves on, as they would in real time.
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  /**
   * Timers in two heaps, fired as one (in (time, creation) order): the few periodic ones (polls,
   * ticks), which a skip moves, and the many others (the world's, deadlines). A skip reads and
   * re-orders only the first.
   */
  private readonly plain = new TimerHeap();
  private readonly periodic = new TimerHeap();
  constructor(start: number) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number, periodic?: Periodic): unknown {
    const timer: Timer = { at: this.t + Math.max(0, ms), armedAt: this.t, seq: this.seq++, fn, cancelled: false, ...(periodic ? { periodic } : {}) };
    (periodic ? this.periodic : this.plain).push(timer);
    return timer;
  }
  clearTimeout(handle: unknown): void {
    if (handle && typeof handle === 'object' && 'cancelled' in handle) (handle as Timer).cancelled = true;
  }
  get pending(): number {
    return this.plain.size + this.periodic.size;
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
    // Where the quiet last asked for ends (exclusive): from there something may change with the
    // time alone (a deadline, a renewal falling due), so the quiet is over even if nothing fires
    // that says so.
    let quietBound = Infinity;
    for (let top = this.top(); top !== undefined && !stop(); top = this.top()) {
      // A cancelled timer (a poll's timeout after the poll answered, a rescheduled interval)
      // fires nothing: drop it without making its time an instant of its own.
      if (top.cancelled) {
        this.pop();
        continue;
      }
      if (quietUntil && top.periodic) {
        // Asked only when a skip could drop two firings or more: the answer can cost a plan, and
        // where the world changes every few seconds (a big fleet) there is little to skip.
        const bound = this.worthAsking() ? quietUntil() : -Infinity;
        if (bound === -Infinity) quietSince = null;
        else this.skipQuiet((quietBound = Math.min(until, bound)), (quietSince ??= this.t));
      }
      const next = this.top()!;
      if (next.at > until) break;
      this.t = Math.max(this.t, next.at);
      if (this.t >= quietBound) [quietSince, quietBound] = [null, Infinity];
      // Fire everything due at this instant, then let promise chains settle once.
      for (let due = this.top(); due !== undefined && due.at <= this.t; due = this.top()) {
        const timer = this.pop()!;
        if (timer.cancelled) continue;
        // Something may change at a plain timer (the world's, a deadline's), or a poll with news
        // (asked only in a quiet: its answer can be costly).
        if (!timer.periodic || (quietSince !== null && timer.periodic.news?.())) quietSince = null;
        timer.fn();
      }
      await settle();
    }
    if (!stop() && until !== Infinity) this.t = Math.max(this.t, until);
    return this.t;
  }

  /** Whether the periodic firings due before the next plain timer (the world's next change) are two or more. */
  private worthAsking(): boolean {
    const nextPlain = this.nextPlain();
    let firings = 0;
    for (const x of this.periodic.timers) {
      const p = x.periodic!;
      if (x.cancelled || x.at >= nextPlain) continue;
      firings += p.periodMs > 0 && Number.isFinite(nextPlain) ? Math.floor((nextPlain - x.at) / p.periodMs) + 1 : 2;
      if (firings >= 2) return true;
    }
    return false;
  }

  /**
   * Drop the periodic firings before `bound` (and before any other timer, or a periodic one with
   * news: those are when something changes). The dropped firings are played without their work:
   * each re-arms its timer one period on, in the order they would have fired, taking the next
   * place in the order as a firing does — so the timers come out where, and in the order, firing
   * them all would have left them — and each timer hears how many it missed. Only a timer armed
   * after `quietSince`, or one that says the period it would choose now is the one it has
   * (`periodNow`), is played: one armed earlier may have chosen its period (a poll's follows what
   * it found) before the quiet began, so it fires once more, and nothing is dropped from then on
   * until it has.
   */
  private skipQuiet(bound: number, quietSince: number): void {
    const played: Timer[] = [];
    bound = Math.min(bound, this.nextPlain());
    for (const x of this.periodic.timers) {
      if (x.cancelled) continue;
      const p = x.periodic!;
      if (x.armedAt <= quietSince && p.periodNow?.() !== p.periodMs) bound = Math.min(bound, x.at);
      else if (p.periodMs > 0 && Number.isFinite(p.periodMs)) played.push(x);
      else return;
    }
    // A poll with news bounds the skip at its next firing; asked, earliest first, only of those
    // before the bound so far (its answer can be costly).
    played.sort((a, b) => a.at - b.at);
    for (const x of played) {
      if (x.at >= bound) break;
      if (x.periodic!.news?.()) bound = x.at;
    }
    if (!Number.isFinite(bound)) return;
    const missed = new Map<Timer, number>();
    for (;;) {
      let next: Timer | undefined;
      for (const x of played) if (!next || less(x, next)) next = x;
      if (!next || next.at >= bound) break;
      next.armedAt = next.at;
      next.at += next.periodic!.periodMs;
      next.seq = this.seq++;
      missed.set(next, (missed.get(next) ?? 0) + 1);
    }
    if (missed.size === 0) return;
    for (const [x, n] of missed) x.periodic!.onSkip?.(n, x.armedAt);
    this.periodic.rebuild();
  }

  /** When the next plain timer fires (cancelled ones dropped: they fire nothing). */
  private nextPlain(): number {
    while (this.plain.peek()?.cancelled) this.plain.pop();
    return this.plain.peek()?.at ?? Infinity;
  }

  /** The timer that fires next, of both heaps. */
  private top(): Timer | undefined {
    const a = this.plain.peek();
    const b = this.periodic.peek();
    return a === undefined ? b : b === undefined || less(a, b) ? a : b;
  }

  private pop(): Timer | undefined {
    const next = this.top();
    return next !== undefined && next === this.plain.peek() ? this.plain.pop() : this.periodic.pop();
  }
}

/** A binary min-heap of timers in (time, creation) order. */
class TimerHeap {
  timers: Timer[] = [];
  get size(): number {
    return this.timers.length;
  }
  peek(): Timer | undefined {
    return this.timers[0];
  }
  /** Re-ordered after the timers' times changed in place (cancelled ones dropped). */
  rebuild(): void {
    this.timers = this.timers.filter((x) => !x.cancelled).sort((a, b) => (less(a, b) ? -1 : 1));
  }

  push(x: Timer): void {
    const h = this.timers;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }
  pop(): Timer | undefined {
    const h = this.timers;
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

