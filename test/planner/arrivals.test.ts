import { describe, expect, it } from 'vitest';
import { arrivalRate, emptyHistory, recordArrivals, weeklyArrivalRate } from '../../src/planner/arrivals.js';

const H = 3_600_000;
const DAY0 = Date.UTC(2026, 0, 5); // a Monday, 00:00 UTC

describe('arrivals: what was seen, by hour of day', () => {
  it.each([
    // what                                             records [from h, to h, arrived]          now (h)  → per hour, watched h
    ['nothing seen', [], 14, 0, 0],
    ['one hour watched, 6 arrivals', [[14, 15, 6]], 14.5, 6, 1],
    ['another hour of the day does not count', [[9, 10, 6]], 14.5, 0, 0],
    ['two days at 14:00 average', [[14, 15, 6], [24 + 14, 24 + 15, 2]], 24 + 14.5, 4, 2],
    ['blind time is not quiet time (only watched time counts)', [[14, 14.5, 3]], 14.75, 6, 0.5],
    ['days older than the window are forgotten', [[14, 15, 60], [3 * 24 + 14, 3 * 24 + 15, 2]], 3 * 24 + 14.5, 2, 1],
  ] as const)('%s', (_what, records, nowH, perHour, watchedH) => {
    let h = emptyHistory(3);
    for (const [from, to, n] of records) h = recordArrivals(h, DAY0 + from * H, DAY0 + to * H - 1, { default: n });
    const r = arrivalRate(h, 'default', DAY0 + nowH * H);
    expect({ perHour: Math.round(r.perSecond * 3600 * 100) / 100, watchedH: Math.round((r.watchedMs / H) * 100) / 100 }).toEqual({ perHour, watchedH });
  });

  it('quiet polls add up without copying the slots, across hours and with arrivals between', () => {
    let h = emptyHistory(3);
    const slots0 = h.slots;
    for (let m = 0; m < 60; m += 5) h = recordArrivals(h, DAY0 + 14 * H + m * 60_000, DAY0 + 14 * H + (m + 5) * 60_000 - 1, {});
    expect(h.slots).toBe(slots0);
    h = recordArrivals(h, DAY0 + 15 * H, DAY0 + 15 * H + 30 * 60_000, { default: 3 });
    h = recordArrivals(h, DAY0 + 15 * H + 30 * 60_000, DAY0 + 16 * H - 1, {});
    const at14 = arrivalRate(h, 'default', DAY0 + 14.5 * H);
    const at15 = arrivalRate(h, 'default', DAY0 + 15.5 * H);
    expect([Math.round(at14.watchedMs / 60_000), at14.perSecond]).toEqual([60, 0]);
    expect([Math.round(at15.watchedMs / 60_000), Math.round(at15.perSecond * 3600 * 100) / 100, at15.peak]).toEqual([60, 3, 3]);
  });

  it('keeps pools apart and leaves the history it was given unchanged', () => {
    const h0 = emptyHistory(2);
    const h1 = recordArrivals(h0, DAY0 + 14 * H, DAY0 + 15 * H - 1, { default: 4, arm: 1 });
    expect(arrivalRate(h1, 'arm', DAY0 + 14 * H).perSecond * 3600).toBeCloseTo(1, 2);
    expect(arrivalRate(h0, 'default', DAY0 + 14 * H).watchedMs).toBe(0);
    expect(recordArrivals(h1, DAY0, DAY0, { default: 1 })).toBe(h1);
  });
});

describe('arrivals: by hour of the week', () => {
  it.each([
    // what                                                         records [from h, to h, arrived]                     now (h)        → per hour, watched h
    ['the same hour a week earlier counts', [[14, 15, 6], [7 * 24 + 14, 7 * 24 + 15, 2]], 14 * 24 + 14.5, 4, 2],
    ['the same hour on another weekday does not', [[14, 15, 6], [24 + 14, 24 + 15, 2]], 7 * 24 + 14.5, 6, 1],
    ['four weeks are kept (the hour of day forgets after 14 days)', [[14, 15, 8]], 21 * 24 + 14.5, 8, 1],
    ['five weeks ago is forgotten', [[14, 15, 8]], 28 * 24 + 14.5, 0, 0],
  ] as const)('%s', (_what, records, nowH, perHour, watchedH) => {
    let h = emptyHistory();
    for (const [from, to, n] of records) h = recordArrivals(h, DAY0 + from * H, DAY0 + to * H - 1, { default: n });
    const r = weeklyArrivalRate(h, 'default', DAY0 + nowH * H);
    expect({ perHour: Math.round(r.perSecond * 3600 * 100) / 100, watchedH: Math.round((r.watchedMs / H) * 100) / 100 }).toEqual({ perHour, watchedH });
  });

  it('the hour of the day still looks back 14 days only, however long the ring', () => {
    let h = emptyHistory();
    h = recordArrivals(h, DAY0 + 14 * H, DAY0 + 15 * H - 1, { default: 8 });
    expect(arrivalRate(h, 'default', DAY0 + (13 * 24 + 14.5) * H).watchedMs).toBeGreaterThan(0);
    expect(arrivalRate(h, 'default', DAY0 + (14 * 24 + 14.5) * H).watchedMs).toBe(0);
  });
});
