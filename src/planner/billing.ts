import type { Billing } from './types.js';

/**
 * Billing arithmetic. Per-second billing (period 1 s) charges max(minimum, duration);
 * periodic billing (e.g. hourly) charges whole periods, at least the minimum.
 */
export function billedSeconds(durationMs: number, billing: Billing): number {
  const secs = Math.max(0, durationMs) / 1000;
  const period = billing.periodSeconds;
  const rounded = period <= 1 ? Math.ceil(secs) : Math.ceil(secs / period) * period;
  return Math.max(billing.minimumSeconds, rounded, period <= 1 ? 0 : period);
}

export function costUsd(durationMs: number, pricePerHour: number, billing: Billing): number {
  return (billedSeconds(durationMs, billing) / 3600) * pricePerHour;
}

/**
 * The end of the paid period that `now` falls in, for periodic billing: the moment after which
 * keeping the instance costs another period. For per-second billing, the end of the minimum.
 */
export function paidPeriodEnd(launchedAt: number, now: number, billing: Billing): number {
  const minEnd = launchedAt + billing.minimumSeconds * 1000;
  if (billing.periodSeconds <= 1) return minEnd;
  const p = billing.periodSeconds * 1000;
  const elapsed = Math.max(0, now - launchedAt);
  const end = launchedAt + Math.max(1, Math.ceil(elapsed / p)) * p;
  // Exactly on a boundary the next period has already begun.
  return Math.max(end === now ? end + p : end, minEnd);
}
