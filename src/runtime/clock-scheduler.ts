import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';
import type { Clock } from '../domain/clock.js';

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

class ClockAction<T> extends Subscription implements SchedulerAction<T> {
  private handle: unknown = null;
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
    this.handle = this.clock.setTimeout(() => {
      this.handle = null;
      if (!this.closed) this.work.call(this, state);
    }, delay);
    return this;
  }
  private cancel(): void {
    if (this.handle !== null) {
      this.clock.clearTimeout(this.handle);
      this.handle = null;
    }
  }
}
