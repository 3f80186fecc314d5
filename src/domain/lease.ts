import type { LeaseRecord } from '../ports/lease.js';

/**
 * When a replica may take the lease and how long its holder may act: pure, on the replica's
 * own clock. Safety does not rest on clocks agreeing:
 * - the holder acts until `startedAt + duration − margin`, where `startedAt` is when it *sent*
 *   its latest successful write (a renewal's answer can arrive late, never early);
 * - a contender takes over only once the version it saw has not changed for a whole duration
 *   *since it first saw it*, which is after the holder sent it.
 * So the holder has stopped a margin before anyone else starts, as long as the two clocks run
 * at about the same rate. One shortcut does assume the clocks agree within a lease duration: a
 * record whose own expiry passed more than a duration ago is taken at once (a daemon started
 * long after the last holder died need not wait).
 */

export interface LeaseTiming {
  durationMs: number;
  /** The holder renews this often; a standby looks this often. */
  renewMs: number;
  /** The holder stops acting this long before its lease would end, unless renewed. */
  marginMs: number;
}

/** What a contender saw of another's lease: which version, since when (its own clock). */
export interface Sighting {
  holder: string;
  version: string;
  since: number;
}

export type Contention =
  | { take: true; why: 'free' | 'released' | 'mine' | 'silent' | 'long-expired' }
  | { take: false; heldBy: string; sighting: Sighting; takeoverAt: number };

/** May `me` take the lease now, given the record and what it saw before? */
export function contend(record: LeaseRecord | null, me: string, seen: Sighting | null, now: number): Contention {
  if (!record) return { take: true, why: 'free' };
  if (record.holder === '') return { take: true, why: 'released' };
  if (record.holder === me) return { take: true, why: 'mine' };
  const sighting = seen && seen.version === record.version && seen.holder === record.holder ? seen : { holder: record.holder, version: record.version, since: now };
  const silentAt = sighting.since + record.durationMs;
  const deadAt = record.expiresAt + record.durationMs;
  if (now >= silentAt) return { take: true, why: 'silent' };
  if (now >= deadAt) return { take: true, why: 'long-expired' };
  return { take: false, heldBy: record.holder, sighting, takeoverAt: Math.min(silentAt, deadAt) };
}

/** Until when the holder may act after a write sent at `startedAt` succeeded. */
export function actUntil(startedAt: number, t: LeaseTiming): number {
  return startedAt + t.durationMs - t.marginMs;
}

/**
 * When the holder tries again after a renewal that failed (the store did not answer, or
 * answered an error): soon, and at least twice before it must stop acting.
 */
export function retryAfter(now: number, validUntil: number, t: LeaseTiming): number {
  return Math.max(100, Math.min(t.renewMs, (validUntil - now) / 2));
}

/** The margin used when none is set: half a renewal period, at most a sixth of the lease. */
export function defaultMarginMs(durationMs: number, renewMs: number): number {
  return Math.min(renewMs / 2, durationMs / 6);
}

/**
 * The longest a standby waits after the holder's last renewal: a renewal period to see the
 * last version, then a duration of silence.
 */
export function takeoverBoundMs(t: Pick<LeaseTiming, 'durationMs' | 'renewMs'>): number {
  return t.durationMs + t.renewMs;
}
