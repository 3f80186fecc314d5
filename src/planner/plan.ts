import type { PoolSpec } from '../domain/pool.js';
import type { Stage } from '../ports/queue-source.js';
import { afterLaunches, caps, fleetUse, withUnknownLaunches, type FleetUse } from './caps.js';
import { cloudBlind } from './cloud-blind.js';
import { launchBackoff } from './launch-backoff.js';
import { launchUnknown } from './launch-unknown.js';
import { instancesByPool, workByPool, type PoolWork } from './pools.js';
import { queueBlind } from './queue-blind.js';
import { idleOdds, renewal } from './renewal.js';
import { settling } from './settling.js';
import { sizing } from './sizing.js';
import { surplusBoots } from './surplus-boots.js';
import { stopping } from './stopping.js';
import { unmatchedStages } from './unmatched-stages.js';
import { isWarm, notWarm, warmPool } from './warm-pool.js';
import type { Decision, InstanceView, PlannerSettings, PlanSettings, World } from './types.js';

/**
 * The planner: world in, decisions out, each with a reason. Pure — no clock, no I/O. Each
 * rule is a named step in its own module with its own table test; this only composes them.
 */
export function plan(world: World, settings: PlanSettings): Decision[] {
  // The warm pool (parked, parking, priming) is neither capacity for work nor spend: the rules
  // for running instances see only those; the warm-pool rule sees both.
  const all = instancesByPool(world.instances, settings.pools);
  const running = { ...world, instances: notWarm(world.instances) };
  const fleet = instancesByPool(running.instances, settings.pools);
  const decided = world.queue.known
    ? planPools(running, world.queue.stages, settings, fleet)
    : queueBlind(running, world.queue, settings.pools, fleet, settings.planner);
  const warmed = world.queue.known || world.mode === 'stopping' ? withWarmPools(world, decided, settings, all) : decided;
  return settling(world, cloudBlind(world, warmed));
}

/** Each pool's decisions, passed through its warm pool, in configuration order. */
function withWarmPools(world: World, decided: readonly Decision[], settings: PlanSettings, all: ReadonlyMap<string, readonly InstanceView[]>): Decision[] {
  const out = decided.filter((d) => !settings.pools.some((p) => p.name === d.pool));
  for (const pool of settings.pools) {
    const mine = decided.filter((d) => d.pool === pool.name);
    const instances = all.get(pool.name) ?? [];
    out.push(...(pool.warmPool || instances.some(isWarm) ? warmPool(world, pool, instances, mine, settings.planner) : mine));
  }
  return out;
}

/** The queue is seen: say what no pool serves, then each pool in configuration order. */
function planPools(world: World, stages: readonly Stage[], settings: PlanSettings, fleet: ReadonlyMap<string, readonly InstanceView[]>): Decision[] {
  const work = workByPool(stages, settings.pools, world.instances);
  const out = unmatchedStages(work.unmatched);
  let use = withUnknownLaunches(fleetUse(world.instances, settings.pools), world.launchesUnknown, settings.pools);
  for (const pool of settings.pools) {
    const decided = planPool(world, pool, fleet.get(pool.name) ?? [], work.byPool.get(pool.name), use, settings.planner);
    use = afterLaunches(use, decided, pool);
    out.push(...decided);
  }
  return out;
}

function planPool(world: World, pool: PoolSpec, instances: readonly InstanceView[], work: PoolWork | undefined, use: FleetUse, planner: PlannerSettings): Decision[] {
  if (world.mode === 'stopping') return stopping(pool, instances);
  const need = sizing(pool, work, instances, planner);
  if (need.shortfall <= 0) {
    const odds = idleOdds(world, pool.name, planner);
    return [...renewal(world.now, pool, instances, need, planner, odds), ...surplusBoots(pool, instances, need, planner, odds)];
  }
  const wait = launchUnknown(world.now, pool.name, world.launchesUnknown?.[pool.name], need) ?? launchBackoff(world.now, pool.name, world.launchFailures?.[pool.name], need, planner);
  return wait ? [wait] : caps(pool, instances, need, use, planner);
}
