import type { PoolSpec, WarmPoolSpec } from '../domain/pool.js';
import { arrivalRate, fallsTo, nextHour, watchedReaches, weeklyArrivalRate, type ArrivalHistory, type ArrivalRate } from './arrivals.js';
import { hold } from './decide.js';
import { MIN_WATCHED_MS } from './renewal.js';
import { scheduledSize } from './warm-schedule.js';
import type { Decision, InstanceView, PlannerSettings, World } from './types.js';

/**
 * The warm pool: instances parked (stopped) once primed, started for work in seconds instead
 * of a cold boot, costing only their disk meanwhile. Four small rules on top of what the other
 * rules decided for a pool:
 * - activation: a launch for work becomes the start of a parked instance, as far as they go;
 * - re-parking: an idle agent let go parks again after its job (within the pool's max), which
 *   costs nothing while it stops and keeps its caches;
 * - priming: below target, counting the agents at work that will park again, launch instances
 *   to park;
 * - eviction: a parked instance drifted (image or launch settings changed), too old, or unused above target for longer than its disk is
 *   worth (until it costs more than priming another), is ended.
 */
export const WARM_PHASES: ReadonlySet<InstanceView['phase']> = new Set(['priming', 'parking', 'parked']);
export const isWarm = (i: InstanceView): boolean => WARM_PHASES.has(i.phase);

const notWarmOf = new WeakMap<readonly InstanceView[], readonly InstanceView[]>();

/**
 * The instances that are not warm: what the rules for running instances see. The same list when
 * none is warm (the usual case), and one list per instance list otherwise, so what is kept per
 * list (the work by pool) stays kept.
 */
export function notWarm(instances: readonly InstanceView[]): readonly InstanceView[] {
  if (!instances.some(isWarm)) return instances;
  let out = notWarmOf.get(instances);
  if (!out) notWarmOf.set(instances, (out = instances.filter((i) => !isWarm(i))));
  return out;
}

/**
 * How long an unused parked instance above target is worth keeping: as long as its disk costs
 * less than priming another would (a cold boot's compute). With the defaults (a 90 s boot at
 * $0.17/h against 30 GB at $0.08 per GB-month) about 1.3 hours.
 */
export function surplusKeepMs(pool: PoolSpec, w: WarmPoolSpec, bootSeconds: number): number {
  const storagePerHour = (w.storageGb * w.storageUsdPerGbMonth) / 730;
  const primingCost = (bootSeconds / 3600) * pool.pricePerHour;
  return storagePerHour > 0 ? (primingCost / storagePerHour) * 3_600_000 : Number.POSITIVE_INFINITY;
}

export function warmEnabled(w: WarmPoolSpec | undefined): w is WarmPoolSpec {
  return w !== undefined && (w.size === 'auto' || w.size > 0 || w.min > 0 || (w.schedule ?? []).some((win) => win.size > 0));
}

/**
 * How many parked instances to keep now. A number is taken as given. 'auto', for each hour of
 * the week from the arrivals seen then (the hour of the day while that hour of the week has
 * too little history): the largest burst seen at once (a build's fan-out), plus the stages
 * expected while one parked instance is replaced (a cold boot and a park); none when a cold
 * boot already meets the wait target, `min` while the hour has too little history. Inside a
 * window of the schedule (or a priming time before it opens), the window's size instead.
 */
export function warmTarget(w: WarmPoolSpec, pool: string, world: Pick<World, 'now' | 'arrivals' | 'bootSeconds'>, planner: Pick<PlannerSettings, 'expectedBootSeconds'> & Partial<Pick<PlannerSettings, 'billing'>>): { target: number; why: string } {
  // The operator's schedule overrides, from a priming time (a cold boot and a park) before its window opens.
  const scheduled = scheduledSize(w, world.now, ((world.bootSeconds ?? planner.expectedBootSeconds) + 60) * 1000);
  if (scheduled) return scheduled;
  if (w.size !== 'auto') return { target: Math.max(w.size, w.min), why: `warm pool of ${w.size}` };
  // Billed by the period (hourly), priming pays a whole period to park and every start opens
  // another: a parked instance saves nothing a kept idle agent would not. Re-parking what was
  // paid for anyway still happens; 'auto' primes nothing.
  if (planner.billing && planner.billing.periodSeconds > 1) return { target: w.min, why: 'billed by the period: priming pays a whole period' };
  const boot = world.bootSeconds ?? planner.expectedBootSeconds;
  if (boot <= w.waitTargetSeconds) return { target: w.min, why: `a cold boot (${Math.round(boot)} s) meets the wait target (${w.waitTargetSeconds} s)` };
  // This hour, and the hour LOOK_AHEAD_MS ahead: the pool is primed before a busy hour begins.
  let best: { target: number; why: string } = { target: w.min, why: 'too little history at this hour' };
  for (const at of [world.now, world.now + LOOK_AHEAD_MS]) {
    const seen = world.arrivals ? hourRate(world.arrivals, pool, at) : null;
    if (!seen) continue;
    const { rate, by } = seen;
    const refill = rate.perSecond * (boot + 60);
    const target = Math.min(w.max, Math.max(w.min, rate.peak + Math.ceil(refill)));
    if (target > best.target || best.why.startsWith('too little')) {
      best = { target, why: `auto${at === world.now ? '' : ', the next hour'} (${by}): bursts of ${rate.peak}, ${refill.toFixed(2)} arrivals per refill` };
    }
  }
  return best;
}

/**
 * An hour of the week is trusted once it was watched this long (two weeks of that hour): one
 * Monday can be a holiday.
 */
export const MIN_WEEKLY_WATCHED_MS = 2 * 3_600_000;

/** The arrivals 'auto' sizes by at `at`: that hour of the week if watched enough, else that hour of the day, else none. */
export function hourRate(h: ArrivalHistory, pool: string, at: number): { rate: ArrivalRate; by: string } | null {
  const week = weeklyArrivalRate(h, pool, at);
  if (week.watchedMs >= MIN_WEEKLY_WATCHED_MS) return { rate: week, by: `${WEEKDAYS[new Date(at).getUTCDay()]} ${String(new Date(at).getUTCHours()).padStart(2, '0')}:00 UTC` };
  const day = arrivalRate(h, pool, at);
  if (day.watchedMs >= MIN_WATCHED_MS) return { rate: day, by: `hour of day ${String(new Date(at).getUTCHours()).padStart(2, '0')}:00 UTC` };
  return null;
}

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** How far ahead 'auto' looks: priming takes a cold boot and a park, and a busy hour starts on the hour. */
const LOOK_AHEAD_MS = 30 * 60_000;

/**
 * Billed by the period, a start from parked opens a period just as a cold launch does: 'auto'
 * keeps no warm pool then (a fixed size is the operator's to choose). Parked instances are ended.
 */
const autoOff = (w: WarmPoolSpec, planner: PlannerSettings): boolean => w.size === 'auto' && planner.billing.periodSeconds > 1 && w.min === 0 && !(w.schedule ?? []).some((win) => win.size > 0);

const MINUTE = 60_000;
const nextMinute = (t: number): number => (Math.floor(t / MINUTE) + 1) * MINUTE;

/**
 * Until when (exclusive) `warmTarget` says what it says now while no stage arrives: a schedule's
 * windows open and close on the minute (and are looked ahead of by a priming time); 'auto' reads
 * this hour's rates and the next's until either hour turns, until an hour gains enough watching
 * to be trusted, and until the rate, falling as quiet time is watched, takes one arrival off the
 * refill. `since`: when the arrivals were last recorded.
 */
export function warmTargetHorizon(w: WarmPoolSpec, pool: string, world: Pick<World, 'now' | 'arrivals' | 'bootSeconds'>, since: number, planner: Pick<PlannerSettings, 'expectedBootSeconds'> & Partial<Pick<PlannerSettings, 'billing'>>): number {
  const now = world.now;
  const boot = world.bootSeconds ?? planner.expectedBootSeconds;
  let until = Infinity;
  if ((w.schedule ?? []).length > 0) {
    const lead = (boot + 60) * 1000;
    until = Math.min(nextMinute(now), Math.floor(nextMinute(now + lead) - lead));
    if (scheduledSize(w, now, lead)) return until;
  }
  if (w.size !== 'auto' || (planner.billing && planner.billing.periodSeconds > 1) || boot <= w.waitTargetSeconds || !world.arrivals) return until;
  for (const at of [now, now + LOOK_AHEAD_MS]) {
    until = Math.min(until, nextHour(at) - (at - now));
    until = Math.min(until, watchedReaches(weeklyArrivalRate(world.arrivals, pool, at).watchedMs, MIN_WEEKLY_WATCHED_MS, since), watchedReaches(arrivalRate(world.arrivals, pool, at).watchedMs, MIN_WATCHED_MS, since));
    const seen = hourRate(world.arrivals, pool, at);
    const fewer = seen ? Math.ceil(seen.rate.perSecond * (boot + 60)) - 1 : 0;
    if (seen && fewer >= 1) until = Math.min(until, fallsTo(seen.rate, fewer / (boot + 60), since));
  }
  return until;
}

/**
 * Until when (exclusive) the warm pool's rule decides for this pool what it decides now while the
 * queue and the fleet stay as they are: its target (warmTargetHorizon), and each parked
 * instance growing too old, or unused above the target long enough for its disk to cost more
 * than priming another.
 */
export function warmPoolHorizon(world: World, since: number, pool: PoolSpec, instances: readonly InstanceView[], planner: PlannerSettings): number {
  const w = pool.warmPool;
  if (!warmEnabled(w) || autoOff(w, planner)) return Infinity;
  let until = warmTargetHorizon(w, pool.name, world, since, planner);
  const keepMs = surplusKeepMs(pool, w, world.bootSeconds ?? planner.expectedBootSeconds);
  for (const i of instances) {
    if (i.phase !== 'parked') continue;
    for (const t of [(i.launchedAt ?? -Infinity) + w.maxAgeSeconds * 1000, (i.since ?? -Infinity) + keepMs]) if (t >= world.now) until = Math.min(until, t);
  }
  return until;
}

export function warmPool(world: World, pool: PoolSpec, instances: readonly InstanceView[], decided: readonly Decision[], planner: PlannerSettings): Decision[] {
  const w = pool.warmPool;
  const warm = instances.filter(isWarm);
  if (!warmEnabled(w) || autoOff(w, planner)) {
    const why = warmEnabled(w) ? "warm pool 'auto' keeps none when billed by the period" : 'warm pool off for this pool';
    return [...decided, ...warm.filter((i) => i.phase === 'parked').map((i) => evict(i, why))];
  }
  const { target, why } = warmTarget(w, pool.name, world, planner);
  const ready = warm.filter((i) => i.phase === 'parked').sort(byKey);
  let have = warm.length;
  // Agents at work park again after their job: supply the pool will have without priming. So
  // do those started from parked and still coming up, and those already draining to park.
  const comingBack = (i: InstanceView) => i.phase === 'idle' || i.phase === 'busy' || (i.phase === 'booting' && i.warmStart === true) || (i.phase === 'draining' && i.thenPark === true);
  let returning = w.afterJob === 'park' ? instances.filter(comingBack).length : 0;
  const out: Decision[] = [];
  for (const d of decided) {
    if (d.kind === 'launch' && d.purpose !== 'park' && ready.length > 0) {
      // Start parked instances instead of cold boots, as far as they go.
      const n = Math.min(d.count, ready.length);
      for (const i of ready.splice(0, n)) out.push({ kind: 'activate', pool: pool.name, key: i.key, reason: `instead of a cold boot: ${d.reason}` });
      have -= n;
      // Started for a job, each comes back after it: not a gap to prime for.
      if (w.afterJob === 'park') returning += n;
      if (d.count > n) out.push({ ...d, count: d.count - n });
    } else if (d.kind === 'drain' && w.afterJob === 'park' && have < w.max && !d.then && instances.find((i) => i.key === d.key)?.phase === 'idle') {
      out.push({ ...d, then: 'park', reason: `${d.reason}; parked again for the warm pool (${have} parked, target ${target}: ${why})` });
      have++;
    } else out.push(d);
  }
  if (world.mode === 'stopping') return [...out, ...ready.map((i) => evict(i, 'daemon stopping'))];
  for (const i of ready) {
    const age = world.now - (i.launchedAt ?? world.now);
    if (i.drift) {
      out.push(evict(i, `drifted: ${i.drift}`));
      have--;
    } else if (age > w.maxAgeSeconds * 1000) {
      out.push(evict(i, `older than the warm pool's maximum age (${Math.round(age / 3_600_000)} h > ${Math.round(w.maxAgeSeconds / 3600)} h)`));
      have--;
    }
  }
  if (have + returning < target) {
    out.push({ kind: 'launch', pool: pool.name, count: target - have - returning, purpose: 'park', reason: `priming the warm pool: ${have} parked and ${returning} at work of ${target} (${why})` });
  } else if (have > target) {
    let surplus = have - target;
    const keepMs = surplusKeepMs(pool, w, world.bootSeconds ?? planner.expectedBootSeconds);
    for (const i of ready) {
      if (surplus <= 0) break;
      if (world.now - (i.since ?? world.now) < keepMs) continue;
      if (out.some((d) => d.kind === 'evict' && d.key === i.key)) continue;
      out.push(evict(i, `above the warm pool's target (${have} > ${target}: ${why}), unused for ${Math.round((world.now - (i.since ?? world.now)) / 60_000)} min: its disk now costs more than priming another`));
      surplus--;
    }
    if (surplus > 0) out.push(hold(pool.name, 'warm-surplus', `${surplus} parked instance(s) above the target (${target}: ${why}) kept while their disk costs less than priming again (${Math.round(keepMs / 60_000)} min)`));
  }
  return out;
}

function evict(i: InstanceView, reason: string): Decision {
  return { kind: 'evict', pool: i.pool, key: i.key, reason };
}

const byKey = (a: InstanceView, b: InstanceView) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
