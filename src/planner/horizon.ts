import { instancesByPool, workByPool } from './pools.js';
import { renewalHorizon, type IdleOdds } from './renewal.js';
import { sizing } from './sizing.js';
import { surplusBoots } from './surplus-boots.js';
import { isWarm, notWarm, warmPoolHorizon } from './warm-pool.js';
import type { PlanSettings, World } from './types.js';

/** The odds that cancel the most boots: no arrivals, so no idle agent is worth keeping. */
const CANCEL_MOST: IdleOdds = { perSecond: 0, bootSeconds: 0 };

/**
 * Until when (exclusive) the plan for this world decides what it decides now — the same
 * decisions for the same instances, and the same holds; only their reasons' numbers move — at
 * every later instant while the queue and the fleet stay as they are. Meanwhile only the time
 * passes, and the arrivals history gains watched time (quiet polls), which moves the odds. Each
 * rule that reads the time or the odds says until when its answer holds:
 * - settling after a start: until it ends;
 * - renewal: the first idle agent's keep-or-let-go falling due, the odds changing
 *   (renewalHorizon);
 * - the warm pool: its target changing, a parked instance growing too old or too long unused
 *   (warmPoolHorizon).
 * -Infinity when it cannot say: while the queue or the cloud is unknown, or when stopping (blind
 * holds count the time); after launch failures (backoff) and lost launches; with a boot beyond
 * demand that the odds at this hour could cancel (surplus boots, asked with the odds that cancel
 * the most, cancels nothing). A replay on virtual time skips the polls and ticks of a world that
 * is steady until then (steadyUntil in the supervisor, src/sim/simulate.ts).
 */
export function planHorizon(world: World, settings: PlanSettings): number {
  if (world.mode !== 'running' || !world.queue.known || world.cloud?.known === false) return -Infinity;
  if (some(world.launchFailures) || some(world.launchesUnknown)) return -Infinity;
  // The arrivals were last recorded by the last poll.
  const since = world.queue.at;
  let until = world.settling && world.now < world.settling.until ? world.settling.until : Infinity;
  // As plan() sees them: the rules for running instances see no warm one; the warm pool's, all.
  const all = instancesByPool(world.instances, settings.pools);
  const running = notWarm(world.instances);
  const work = workByPool(world.queue.stages, settings.pools, running);
  const fleet = instancesByPool(running, settings.pools);
  for (const pool of settings.pools) {
    const instances = fleet.get(pool.name) ?? [];
    const need = sizing(pool, work.byPool.get(pool.name), instances, settings.planner);
    if (need.shortfall <= 0) {
      if (surplusBoots(pool, instances, need, settings.planner, CANCEL_MOST).length > 0) return -Infinity;
      until = Math.min(until, renewalHorizon(world, since, pool, instances, need, settings.planner));
    }
    const everyone = all.get(pool.name) ?? [];
    if (pool.warmPool || everyone.some(isWarm)) until = Math.min(until, warmPoolHorizon(world, since, pool, everyone, settings.planner));
  }
  // Times in a replay are not whole milliseconds: early by a fraction is safe, late is not.
  return Math.floor(until);
}

const some = (r: Readonly<Record<string, unknown>> | undefined): boolean => r !== undefined && Object.keys(r).length > 0;
