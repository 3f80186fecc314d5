import type { PoolSpec } from '../domain/pool.js';
import { hold, launch } from './decide.js';
import type { Need } from './sizing.js';
import type { Decision, HoldCode, InstanceView, LaunchUnknown, PlannerSettings } from './types.js';

/** What the whole fleet holds and costs, counting the launches already decided this round. */
export interface FleetUse {
  instances: number;
  spendPerHour: number;
}

/** The fleet as it is: every instance, in any pool, counts and costs (the cloud's price when known). */
export function fleetUse(instances: readonly InstanceView[], pools: readonly PoolSpec[]): FleetUse {
  return { instances: instances.length, spendPerHour: instances.reduce((sum, i) => sum + priceOf(i, pools), 0) };
}

/**
 * The use counting launches whose answer was lost: until a describe could have listed it (the
 * supervisor keeps it until then), each may be an instance we pay for, in any pool, so the pools
 * planned after it must not buy its room again.
 */
export function withUnknownLaunches(use: FleetUse, unknown: Readonly<Record<string, LaunchUnknown>> | undefined, pools: readonly PoolSpec[]): FleetUse {
  let { instances, spendPerHour } = use;
  for (const [name, u] of Object.entries(unknown ?? {})) {
    instances += u.keys.length;
    spendPerHour += u.keys.length * (pools.find((p) => p.name === name)?.pricePerHour ?? 0);
  }
  return { instances, spendPerHour };
}

/** The use after a pool's decisions: its launches take room from the pools planned after it. */
export function afterLaunches(use: FleetUse, decisions: readonly Decision[], pool: PoolSpec): FleetUse {
  let { instances, spendPerHour } = use;
  for (const d of decisions) {
    if (d.kind !== 'launch') continue;
    instances += d.count;
    spendPerHour += d.count * pool.pricePerHour;
  }
  return { instances, spendPerHour };
}

/**
 * Caps: launch the shortfall within the pool's max (draining instances still count: they
 * still cost), the fleet's max and the budget. The tightest cap that cuts the launch becomes a
 * hold that says how many more were wanted.
 */
export function caps(pool: PoolSpec, instances: readonly InstanceView[], need: Need, use: FleetUse, planner: Pick<PlannerSettings, 'maxInstances' | 'budgetPerHour'>): Decision[] {
  const price = pool.pricePerHour;
  const rooms: [number, HoldCode, string][] = [
    [pool.max - instances.length, 'at-pool-max', `pool at max (${pool.max}, ${instances.length - need.active} draining)`],
    [planner.maxInstances - use.instances, 'at-fleet-max', `fleet at max (${planner.maxInstances})`],
    [price > 0 ? Math.floor((planner.budgetPerHour - use.spendPerHour) / price + 1e-9) : Infinity, 'over-budget', `budget ${planner.budgetPerHour} USD/h reached (spending ${use.spendPerHour.toFixed(2)})`],
  ];
  let n = need.shortfall;
  let binding: [number, HoldCode, string] | undefined;
  for (const r of rooms) {
    if (r[0] < n) {
      n = Math.max(0, r[0]);
      binding = r;
    }
  }
  const out: Decision[] = [];
  if (n > 0) out.push(launch(pool.name, n, need.why));
  if (binding) out.push(hold(pool.name, binding[1], `${binding[2]}: ${need.shortfall - n} more wanted (${need.why})`));
  return out;
}

function priceOf(i: InstanceView, pools: readonly PoolSpec[]): number {
  return i.pricePerHour > 0 ? i.pricePerHour : (pools.find((p) => p.name === i.pool)?.pricePerHour ?? 0);
}
