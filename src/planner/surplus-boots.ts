import type { PoolSpec } from '../domain/pool.js';
import { drain } from './decide.js';
import type { IdleOdds } from './renewal.js';
import { beyondDemand, type Need } from './sizing.js';
import type { Decision, InstanceView, PlannerSettings } from './types.js';

/**
 * Surplus boots, with per-second billing and the 'expected-cost' odds: a boot the queue no
 * longer needs (its stage was taken by an agent that came free — a build's stages end
 * together, and the next build's stages go to the agents they free) would come up only to be
 * let go as an idle agent. Cancel it while nothing can run on it yet, unless the arrivals seen
 * at this hour make one more idle agent worth keeping. The latest launched first: they have
 * the most boot left to pay for. The idle agents count first: renewal lets them go.
 */
export function surplusBoots(pool: PoolSpec, instances: readonly InstanceView[], need: Need, planner: Pick<PlannerSettings, 'billing'>, odds: IdleOdds | null): Decision[] {
  if (!odds || planner.billing.periodSeconds > 1) return [];
  const idle = instances.filter((i) => i.phase === 'idle').length;
  const boots = instances.filter((i) => i.phase === 'booting' && i.cancellable).sort(byLatestLaunch);
  // Agents worth keeping idle at this hour: while arrivals × boot / idle agents > 1.
  const worthKeeping = Math.max(0, Math.ceil(odds.perSecond * odds.bootSeconds) - 1);
  const surplus = beyondDemand(pool, need) - idle;
  const cancel = Math.min(boots.length, surplus, Math.max(0, idle + boots.length - worthKeeping));
  if (cancel <= 0) return [];
  const odd = `arrivals at this hour × boot = ${(odds.perSecond * odds.bootSeconds).toFixed(2)}`;
  return boots.slice(0, cancel).map((i) => drain(i, `boot cancelled: not needed any more (${need.why}); no more idle agents are worth keeping (${odd})`));
}

const byLatestLaunch = (a: InstanceView, b: InstanceView) => (b.launchedAt ?? 0) - (a.launchedAt ?? 0) || a.key.localeCompare(b.key);
