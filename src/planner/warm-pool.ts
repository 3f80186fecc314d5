import type { PoolSpec, WarmPoolSpec } from '../domain/pool.js';
import { arrivalRate } from './arrivals.js';
import { hold } from './decide.js';
import { MIN_WATCHED_MS } from './renewal.js';
import type { Decision, InstanceView, PlannerSettings, World } from './types.js';

/**
 * The warm pool: instances parked (stopped) once primed, started for work in seconds instead
 * of a cold boot, costing only their disk meanwhile. Four small rules on top of what the other
 * rules decided for a pool:
 * - activation: a launch for work becomes the start of a parked instance, as far as they go;
 * - re-parking: an idle agent let go parks again (after a job) while the pool is below target;
 * - priming: below target, launch instances to park;
 * - eviction: a parked instance too old, or above target for an hour, is ended.
 */
export const WARM_PHASES: ReadonlySet<InstanceView['phase']> = new Set(['priming', 'parking', 'parked']);
export const isWarm = (i: InstanceView): boolean => WARM_PHASES.has(i.phase);

/** Parked above target this long before it is evicted: the target moves by the hour. */
const SURPLUS_GRACE_MS = 3_600_000;

export function warmEnabled(w: WarmPoolSpec | undefined): w is WarmPoolSpec {
  return w !== undefined && (w.size === 'auto' || w.size > 0 || w.min > 0);
}

/**
 * How many parked instances to keep now. A number is taken as given. 'auto', for each hour of
 * the day from the arrivals seen then: the largest burst seen at once (a build's fan-out), plus
 * the stages expected while one parked instance is replaced (a cold boot and a park); none when
 * a cold boot already meets the wait target, `min` while the hour has too little history.
 */
export function warmTarget(w: WarmPoolSpec, pool: string, world: Pick<World, 'now' | 'arrivals' | 'bootSeconds'>, planner: Pick<PlannerSettings, 'expectedBootSeconds'>): { target: number; why: string } {
  if (w.size !== 'auto') return { target: Math.max(w.size, w.min), why: `warm pool of ${w.size}` };
  const boot = world.bootSeconds ?? planner.expectedBootSeconds;
  if (boot <= w.waitTargetSeconds) return { target: w.min, why: `a cold boot (${Math.round(boot)} s) meets the wait target (${w.waitTargetSeconds} s)` };
  const rate = world.arrivals ? arrivalRate(world.arrivals, pool, world.now) : null;
  if (!rate || rate.watchedMs < MIN_WATCHED_MS) return { target: w.min, why: 'too little history at this hour' };
  const refill = rate.perSecond * (boot + 60);
  const target = Math.min(w.max, Math.max(w.min, rate.peak + Math.ceil(refill)));
  return { target, why: `auto at this hour: bursts of ${rate.peak}, ${refill.toFixed(2)} arrivals per refill` };
}

export function warmPool(world: World, pool: PoolSpec, instances: readonly InstanceView[], decided: readonly Decision[], planner: PlannerSettings): Decision[] {
  const w = pool.warmPool;
  const warm = instances.filter(isWarm);
  if (!warmEnabled(w)) {
    // Warm pool switched off: what is parked goes.
    return [...decided, ...warm.filter((i) => i.phase === 'parked').map((i) => evict(i, 'warm pool off for this pool'))];
  }
  const { target, why } = warmTarget(w, pool.name, world, planner);
  const ready = warm.filter((i) => i.phase === 'parked').sort(byKey);
  let have = warm.length;
  const out: Decision[] = [];
  for (const d of decided) {
    if (d.kind === 'launch' && d.purpose !== 'park' && ready.length > 0) {
      // Start parked instances instead of cold boots, as far as they go.
      const n = Math.min(d.count, ready.length);
      for (const i of ready.splice(0, n)) out.push({ kind: 'activate', pool: pool.name, key: i.key, reason: `instead of a cold boot: ${d.reason}` });
      have -= n;
      if (d.count > n) out.push({ ...d, count: d.count - n });
    } else if (d.kind === 'drain' && w.afterJob === 'park' && have < target && !d.then && instances.find((i) => i.key === d.key)?.phase === 'idle') {
      out.push({ ...d, then: 'park', reason: `${d.reason}; parked again for the warm pool (${have}/${target}: ${why})` });
      have++;
    } else out.push(d);
  }
  if (world.mode === 'stopping') return [...out, ...ready.map((i) => evict(i, 'daemon stopping'))];
  for (const i of ready) {
    const age = world.now - (i.launchedAt ?? world.now);
    if (age > w.maxAgeSeconds * 1000) {
      out.push(evict(i, `older than the warm pool's maximum age (${Math.round(age / 3_600_000)} h > ${Math.round(w.maxAgeSeconds / 3600)} h)`));
      have--;
    }
  }
  if (have < target) {
    out.push({ kind: 'launch', pool: pool.name, count: target - have, purpose: 'park', reason: `priming the warm pool: ${have} of ${target} (${why})` });
  } else if (have > target) {
    let surplus = have - target;
    for (const i of ready) {
      if (surplus <= 0) break;
      if (world.now - (i.since ?? world.now) < SURPLUS_GRACE_MS) continue;
      if (out.some((d) => d.kind === 'evict' && d.key === i.key)) continue;
      out.push(evict(i, `above the warm pool's target for an hour (${have} > ${target}: ${why})`));
      surplus--;
    }
    if (surplus > 0) out.push(hold(pool.name, 'warm-surplus', `${surplus} parked instance(s) above the target (${target}: ${why}) kept until parked an hour`));
  }
  return out;
}

function evict(i: InstanceView, reason: string): Decision {
  return { kind: 'evict', pool: i.pool, key: i.key, reason };
}

const byKey = (a: InstanceView, b: InstanceView) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
