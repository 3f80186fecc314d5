import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';
import type { Clock } from '../domain/clock.js';
import type { Periodic } from './virtual-clock.js';

/**
 * An RxJS scheduler over the injected clock, so poll intervals, retry backoff and timeouts
 * run on the same (real or virtual) time as everything else.
 */
export function clockScheduler(clock: Clock): SchedulerLike {
  return {
    now: () => clock.now(),
    schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
      return new ClockAction<T>(clock, work).schedule(state, delay);
    },
  };
}

/** A clock that can drop the firings of periodic timers while nothing changes (the simulator's virtual clock). */
type SkippingClock = Clock & { setTimeout(fn: () => void, ms: number, periodic?: Periodic): unknown };

/**
 * Firings of a periodic action (re-scheduled by its own work: a poll interval, a tick) that a
 * virtual clock dropped since this was last asked, with their period and when the last of them
 * would have fired: none on real time.
 */
export function skippedFirings(action: SchedulerAction<unknown>): { firings: number; everyMs: number; lastAt: number } {
  if (!(action instanceof ClockAction)) return { firings: 0, everyMs: 0, lastAt: 0 };
  const r = { firings: action.skipped, everyMs: action.periodMs, lastAt: action.lastSkippedAt };
  action.skipped = 0;
  return r;
}

/**
 * A periodic action's way to tell a skipping clock the period it would choose now
 * (`Periodic.periodNow`) and, for a poll, whether its next firing would bring news
 * (`Periodic.news`): a no-op on real time.
 */
export function periodFrom(action: SchedulerAction<unknown>, periodNow: () => number, news?: () => boolean): void {
  if (!(action instanceof ClockAction)) return;
  action.periodNow = periodNow;
  action.news = news;
}

class ClockAction<T> extends Subscription implements SchedulerAction<T> {
  private handle: unknown = null;
  private working = false;
  skipped = 0;
  lastSkippedAt = 0;
  periodMs = 0;
  periodNow: (() => number) | undefined = undefined;
  news: (() => boolean) | undefined = undefined;
  constructor(
    private readonly clock: Clock,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super();
    this.add(() => this.cancel());
  }
  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.cancel();
    const fire = () => {
      this.handle = null;
      if (this.closed) return;
      this.working = true;
      try {
        this.work.call(this, state);
      } finally {
        this.working = false;
      }
    };
    // Re-scheduled by its own work: periodic, every `delay`.
    if (this.working && delay > 0) {
      this.periodMs = delay;
      const onSkip = (n: number, lastAt: number): void => {
        this.skipped += n;
        this.lastSkippedAt = lastAt;
      };
      this.handle = (this.clock as SkippingClock).setTimeout(fire, delay, { periodMs: delay, onSkip, ...(this.periodNow ? { periodNow: this.periodNow } : {}), ...(this.news ? { news: this.news } : {}) });
    } else this.handle = this.clock.setTimeout(fire, delay);
    return this;
  }
  private cancel(): void {
    if (this.handle !== null) {
      this.clock.clearTimeout(this.handle);
      this.handle = null;
    }
  }
}
