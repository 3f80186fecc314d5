/**
 * The reaping circuit breaker. What looks orphaned is inferred from a describe; a cloud API
 * answering strangely (an empty or partial instance list) makes a healthy fleet look dead all at
 * once, and reaping it would stop every running build. Orphans cost nothing while they wait (a
 * container instance of a terminated machine, a task on none), so holding is the cheap mistake.
 */

/** Default for `runtime.reapMaxShare`. */
export const DEFAULT_REAP_MAX_SHARE = 0.5;

/** One kind of resource in one round: how many look orphaned, out of how many of ours. */
export interface ReapCount {
  what: string;
  candidates: number;
  total: number;
}

/**
 * Hold the whole round when, for any kind, more than `maxShare` of ours looks orphaned at once.
 * A single orphan is always reaped: one dead host is the everyday case, and a share of a fleet
 * of one or two would otherwise hold it forever. Returns the warning to log, or null to reap.
 */
export function reapHold(counts: readonly ReapCount[], maxShare: number): string | null {
  const over = counts.filter((c) => c.candidates >= 2 && c.candidates > maxShare * c.total);
  if (over.length === 0) return null;
  const said = over.map((c) => `${c.candidates} of ${c.total} ${c.what} (${Math.round((100 * c.candidates) / c.total)} %)`).join(', ');
  return `reaping held: ${said} look orphaned at once, more than runtime.reapMaxShare ${maxShare}; nothing reaped this round`;
}
