import { hold } from './decide.js';
import type { Need } from './sizing.js';
import type { Decision, LaunchFailures, PlannerSettings } from './types.js';

type BackoffSettings = Pick<PlannerSettings, 'launchBackoffSeconds' | 'launchBackoffMaxSeconds'>;

/**
 * The first failure is retried at the next tick; from the second on, back off exponentially.
 * A throttled launch backs off from the first: retrying at once only adds to the rate AWS
 * already refuses.
 */
export function launchBackoffUntil(f: LaunchFailures | undefined, planner: BackoffSettings): { until: number; failures: LaunchFailures } | null {
  if (!f) return null;
  const steps = f.throttled === true ? f.count - 1 : f.count - 2;
  if (steps < 0) return null;
  const ms = Math.min(planner.launchBackoffSeconds * 2 ** steps, planner.launchBackoffMaxSeconds) * 1000;
  return { until: f.lastAt + ms, failures: f };
}

/**
 * Launch backoff: a launch that keeps failing (wrong profile, no capacity anywhere) is not
 * hammered. Only launches wait; letting agents go never does.
 */
export function launchBackoff(now: number, pool: string, failures: LaunchFailures | undefined, need: Need, planner: BackoffSettings): Decision | null {
  if (need.shortfall <= 0) return null;
  const backoff = launchBackoffUntil(failures, planner);
  if (backoff === null || now >= backoff.until) return null;
  const f = backoff.failures;
  return hold(pool, 'launch-backoff', `${f.count} launches failed in a row (last: ${f.reason}): next try in ${Math.ceil((backoff.until - now) / 1000)} s (${need.why})`);
}
