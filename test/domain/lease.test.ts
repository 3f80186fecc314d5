import { describe, expect, it } from 'vitest';
import { actUntil, contend, defaultMarginMs, retryAfter, takeoverBoundMs, type Sighting } from '../../src/domain/lease.js';
import type { LeaseRecord } from '../../src/ports/lease.js';

const D = 30_000;
const T0 = 1_000_000;
const rec = (over: Partial<LeaseRecord> = {}): LeaseRecord => ({ holder: 'a', version: 'v1', expiresAt: T0 + D, durationMs: D, ...over });
const saw = (over: Partial<Sighting> = {}): Sighting => ({ holder: 'a', version: 'v1', since: T0, ...over });

describe('contend: may this replica take the lease now? (its own clock only)', () => {
  it.each([
    ['no record yet', null, null, T0, { take: true, why: 'free' }],
    ['released by its holder', rec({ holder: '' }), null, T0, { take: true, why: 'released' }],
    ['already ours (a lost answer)', rec({ holder: 'me' }), null, T0, { take: true, why: 'mine' }],
    ['first sight of a live lease: wait a duration from now', rec(), null, T0 + 1000, { take: false, heldBy: 'a', takeoverAt: T0 + 1000 + D }],
    ['same version, not yet silent long enough', rec(), saw(), T0 + D - 1, { take: false, heldBy: 'a', takeoverAt: T0 + D }],
    ['same version, silent for a whole duration', rec(), saw(), T0 + D, { take: true, why: 'silent' }],
    ['renewed (new version): the wait starts again', rec({ version: 'v2' }), saw(), T0 + D, { take: false, heldBy: 'a', takeoverAt: T0 + 2 * D }],
    ['another holder with the same version string: a new sighting', rec({ holder: 'b' }), saw(), T0 + D, { take: false, heldBy: 'b', takeoverAt: T0 + 2 * D }],
    // The holder's clock says its lease ended more than a duration ago: taken at once.
    ['long expired by the holder’s own clock', rec({ expiresAt: T0 - D }), null, T0, { take: true, why: 'long-expired' }],
    ['expired, but less than a duration ago: wait', rec({ expiresAt: T0 - D + 5000 }), null, T0, { take: false, heldBy: 'a', takeoverAt: T0 + 5000 }],
  ] as const)('%s', (_name, record, seen, now, want) => {
    const got = contend(record, 'me', seen, now);
    expect(got).toMatchObject(want);
    if (!got.take) expect(got.sighting.version).toBe(record!.version);
  });
});

describe('the holder acts only while its lease is known valid', () => {
  const t = { durationMs: D, renewMs: 10_000, marginMs: 5_000 };
  it('until the start of its last successful write + duration − margin', () => {
    expect(actUntil(T0, t)).toBe(T0 + 25_000);
  });
  it('a contender never starts before the holder stopped: it waits a duration from a sighting made after the write was sent', () => {
    for (const seenAfterMs of [0, 1, 9_999, 10_000]) {
      const c = contend(rec({ expiresAt: T0 + D }), 'me', null, T0 + seenAfterMs);
      expect(c.take).toBe(false);
      if (!c.take) expect(c.takeoverAt).toBeGreaterThan(actUntil(T0, t));
    }
  });
  it.each([
    [T0, T0 + 25_000, 10_000],
    [T0 + 20_000, T0 + 25_000, 2_500],
    [T0 + 24_950, T0 + 25_000, 100],
  ])('after a failed renewal at %i (valid until %i) it retries in %i ms', (now, until, want) => {
    expect(retryAfter(now, until, t)).toBe(want);
  });
  it('defaults: margin half a renewal period (at most a sixth of the lease); takeover within duration + period', () => {
    expect(defaultMarginMs(30_000, 10_000)).toBe(5_000);
    expect(defaultMarginMs(6_000, 3_000)).toBe(1_000);
    expect(takeoverBoundMs({ durationMs: 30_000, renewMs: 10_000 })).toBe(40_000);
  });
});
