import { instancesByPool, workByPool } from './pools.js';
import type { IdleOdds } from './renewal.js';
import { sizing } from './sizing.js';
import { surplusBoots } from './surplus-boots.js';
import { isWarm, warmEnabled } from './warm-pool.js';
import type { PlanSettings, World } from './types.js';

/** The odds that cancel the most boots: no arrivals, so no idle agent is worth keeping. */
const CANCEL_MOST: IdleOdds = { perSecond: 0, bootSeconds: 0 };

/**
 * Whether the plan for this world stays what it is at every later instant while the queue and
 * the fleet stay as they are — the arrivals history may gain watched time meanwhile, which
 * moves the odds. No rule then reads the time or the odds. It is not so:
 * - while the queue or the cloud is unknown, or when stopping (blind holds count the time);
 * - during the settling after a start, after launch failures (backoff) and lost launches;
 * - with a warm pool (its size goes by the hour of the week) or a warm instance;
 * - with an idle agent (its renewal falls due with the time and the odds);
 * - with a boot beyond demand that the odds at this hour could cancel (surplus boots, asked
 *   with the odds that cancel the most, cancels nothing).
 * A replay on virtual time skips the polls and ticks of such a world (src/sim/simulate.ts).
 */
export function timeless(world: World, settings: PlanSettings): boolean {
  if (world.mode !== 'running' || !world.queue.known || world.cloud?.known === false) return false;
  if (world.settling && world.now < world.settling.until) return false;
  if (some(world.launchFailures) || some(world.launchesUnknown)) return false;
  if (settings.pools.some((p) => warmEnabled(p.warmPool))) return false;
  if (world.instances.some((i) => i.phase === 'idle' || isWarm(i))) return false;
  const work = workByPool(world.queue.stages, settings.pools, world.instances);
  const fleet = instancesByPool(world.instances, settings.pools);
  for (const pool of settings.pools) {
    const instances = fleet.get(pool.name) ?? [];
    const need = sizing(pool, work.byPool.get(pool.name), instances, settings.planner);
    if (need.shortfall <= 0 && surplusBoots(pool, instances, need, settings.planner, CANCEL_MOST).length > 0) return false;
  }
  return true;
}

const some = (r: Readonly<Record<string, unknown>> | undefined): boolean => r !== undefined && Object.keys(r).length > 0;
