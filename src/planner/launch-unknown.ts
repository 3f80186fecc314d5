import { hold } from './decide.js';
import type { Need } from './sizing.js';
import type { Decision, LaunchUnknown } from './types.js';

/**
 * A launch whose answer never came (its deadline passed, or the connection broke) may still
 * have made an instance, and a describe may not list it for a while. A launch in that pool
 * before a describe could show it would buy it twice — past the pool's max and the budget — so
 * it waits until `until`, when the first instance, if it exists, is adopted from its tags.
 */
export function launchUnknown(now: number, pool: string, unknown: LaunchUnknown | undefined, need: Need): Decision | null {
  if (need.shortfall <= 0 || !unknown || now >= unknown.until) return null;
  return hold(pool, 'launch-unknown', `a launch's answer was lost (${unknown.reason}): it may have made an instance no describe lists yet; launch in ${Math.ceil((unknown.until - now) / 1000)} s unless a describe shows it (${need.why})`);
}
