import type { Clock } from '../../domain/clock.js';

/**
 * Remembers which (instance type, subnet, market) failed for capacity or limits, so the next
 * launch skips them for a while instead of asking AWS the same doomed question. Time comes from
 * the injected clock only.
 */
export class CapacityMemory {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  static key(instanceType: string, subnet: string | undefined, market: string): string {
    return `${market}|${instanceType}|${subnet ?? '*'}`;
  }

  /** A failure for `subnet` undefined covers every subnet (account-wide limits). */
  remember(instanceType: string, subnet: string | undefined, market: string): void {
    if (this.ttlMs <= 0) return;
    this.until.set(CapacityMemory.key(instanceType, subnet, market), this.clock.now() + this.ttlMs);
  }

  /** ms epoch until which the candidate is skipped, or undefined. */
  blockedUntil(instanceType: string, subnet: string | undefined, market: string): number | undefined {
    const now = this.clock.now();
    let latest: number | undefined;
    for (const k of [CapacityMemory.key(instanceType, subnet, market), CapacityMemory.key(instanceType, undefined, market), CapacityMemory.key('*', undefined, market)]) {
      const t = this.until.get(k);
      if (t === undefined) continue;
      if (t <= now) {
        this.until.delete(k);
        continue;
      }
      latest = Math.max(latest ?? 0, t);
    }
    return latest;
  }
}
