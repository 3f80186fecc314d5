import { hold } from './decide.js';
import type { Need } from './sizing.js';
import type { Decision, LaunchUnknown } from './types.js';

/**
 * A launch whose answer never came (its deadline passed, or the connection broke) may still
 * have made an instance, and a describe may not list it for a while. A launch in that pool
 * before a describe could show it would buy it twice — past the pool's max and the budget — so
 * it waits while the supervisor keeps the loss: until a describe at or after `until` answers, by
 * when the first instance, if it exists, is listed and adopted from its tags.
 */
export function launchUnknown(now: number, pool: string, unknown: LaunchUnknown | undefined, need: Need): Decision | null {
  if (need.shortfall <= 0 || !unknown) return null;
  const when = now < unknown.until ? `launch in ${Math.ceil((unknown.until - now) / 1000)} s unless a describe shows it` : 'launch after the next describe unless it shows it';
  return hold(pool, 'launch-unknown', `a launch's answer was lost (${unknown.reason}): it may have made an instance no describe lists yet; ${when} (${need.why})`);
}
