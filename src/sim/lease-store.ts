import { DdaError } from '../domain/errors.js';
import type { LaunchIntent, LeaseRecord, LeaseStore } from '../ports/lease.js';

/**
 * The lease in memory: for the simulator and tests. Two daemons given the same store in one
 * process behave as two replicas sharing one DynamoDB table. `unavailable` makes every call
 * fail as an unreachable store would.
 */
export class MemoryLeaseStore implements LeaseStore {
  readonly kind = 'memory';
  private record: LeaseRecord | null = null;
  private readonly open = new Map<string, LaunchIntent>();
  unavailable = false;
  /** Every successful write, in order: tests read who wrote what. */
  readonly writes: { op: 'swap' | 'put' | 'clear'; holder: string; detail: string }[] = [];

  async read(): Promise<LeaseRecord | null> {
    this.check();
    return this.record && { ...this.record };
  }

  async swap(expected: string | null, next: LeaseRecord): Promise<boolean> {
    this.check();
    if ((this.record?.version ?? null) !== expected) return false;
    this.record = { ...next };
    this.writes.push({ op: 'swap', holder: next.holder, detail: next.version });
    return true;
  }

  async putIntent(holder: string, intent: LaunchIntent): Promise<void> {
    this.fence(holder, 'record a launch intent');
    this.open.set(intent.key, structuredClone(intent));
    this.writes.push({ op: 'put', holder, detail: intent.key });
  }

  async clearIntent(holder: string, key: string): Promise<void> {
    this.fence(holder, 'clear a launch intent');
    this.open.delete(key);
    this.writes.push({ op: 'clear', holder, detail: key });
  }

  async intents(): Promise<LaunchIntent[]> {
    this.check();
    return [...this.open.values()].map((i) => structuredClone(i));
  }

  private check(): void {
    if (this.unavailable) throw new DdaError('LEASE_UNAVAILABLE', 'memory lease store: unavailable (injected)');
  }

  private fence(holder: string, what: string): void {
    this.check();
    if (this.record?.holder !== holder) throw new DdaError('LEASE_LOST', `cannot ${what}: the lease is held by ${this.record?.holder || 'nobody'}`, { holder });
  }
}
