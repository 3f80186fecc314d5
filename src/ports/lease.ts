/**
 * One lease per daemon identity, so that two replicas of one daemon act as one: the active
 * replica holds it and renews it, a standby waits. The store is a compare-and-set cell (a
 * DynamoDB item written with conditions, or memory shared by two daemons in one process) plus
 * the launch intents of the holder: a launch is recorded before the cloud is asked for it, so
 * the next holder knows which instances a describe may not list yet.
 *
 * Expiry is judged by each replica on its own clock (src/runtime/lease-rules.ts): the record
 * carries a version that changes at every renewal, and a contender takes over only after the
 * version stayed the same for a whole lease duration as it watched. Clocks need not agree.
 *
 * Failures: a write refused because someone else's came first answers false (swap) or throws
 * LEASE_LOST (intents); a store that cannot be reached throws LEASE_UNAVAILABLE.
 */

export interface LeaseRecord {
  /** Who holds it; '' once released. */
  holder: string;
  /** Changes at every acquire and renewal: what a contender watches. */
  version: string;
  /** The holder's own estimate of its expiry (ms epoch, its clock): for logs and for a record long dead. */
  expiresAt: number;
  durationMs: number;
}

/** What repeats one launch request exactly: the cloud's idempotency token and the choices it was made with. */
export interface LaunchAttempt {
  clientToken: string;
  /** Provider-specific (AWS: market, instance type, subnet); strings only. */
  detail: Record<string, string>;
}

/** A launch the holder asked the cloud for, not yet seen in a describe. */
export interface LaunchIntent {
  /** The instance actor's key, tagged on the instance. */
  key: string;
  pool: string;
  purpose?: 'work' | 'park';
  /** The request on its way, recorded before it is sent; absent until the provider sends one. */
  attempt?: LaunchAttempt;
  /** When it was recorded (ms epoch, the holder's clock). */
  at: number;
}

export interface LeaseStore {
  /** 'dynamodb', 'memory': for logs. */
  readonly kind: string;
  /** The record, or null when there is none yet. */
  read(signal?: AbortSignal): Promise<LeaseRecord | null>;
  /**
   * Compare-and-set: write `next` only if the record's version is still `expected` (null: only
   * if there is no record). True when written; false when another write came first. Intents
   * are kept as they are.
   */
  swap(expected: string | null, next: LeaseRecord, signal?: AbortSignal): Promise<boolean>;
  /** Record (or replace) one intent, only while `holder` holds the lease; LEASE_LOST otherwise. */
  putIntent(holder: string, intent: LaunchIntent, signal?: AbortSignal): Promise<void>;
  /** Forget one intent, only while `holder` holds the lease; LEASE_LOST otherwise. */
  clearIntent(holder: string, key: string, signal?: AbortSignal): Promise<void>;
  /** Every intent recorded and not cleared, whoever recorded it. */
  intents(signal?: AbortSignal): Promise<LaunchIntent[]>;
}
