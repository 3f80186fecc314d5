import type { PoolSpec } from '../domain/pool.js';
import { paidPeriodEnd } from './billing.js';
import { drain, hold, renew } from './decide.js';
import { beyondDemand, type Need } from './sizing.js';
import { arrivalRate, fallsTo, nextHour, watchedReaches } from './arrivals.js';
import type { Decision, InstanceView, PlannerSettings, World } from './types.js';

type RenewalSettings = Pick<PlannerSettings, 'billing' | 'idleGraceSeconds' | 'renewalWindowSeconds'> & Partial<Pick<PlannerSettings, 'idleKeepMaxSeconds'>>;

/**
 * What the 'expected-cost' idle rule knows of a pool now: stages arriving per second at this
 * hour of the day, and what a cold boot costs in instance-seconds.
 */
export interface IdleOdds {
  perSecond: number;
  bootSeconds: number;
}

/** Less watching than this at an hour of the day, and the rule falls back to the idle grace. */
export const MIN_WATCHED_MS = 3_600_000;

/** The odds for a pool under the 'expected-cost' rule; null for the 'grace' rule or too little history. */
export function idleOdds(world: Pick<World, 'now' | 'arrivals' | 'bootSeconds'>, pool: string, planner: Pick<PlannerSettings, 'idleRule' | 'expectedBootSeconds'>): IdleOdds | null {
  if (planner.idleRule !== 'expected-cost' || !world.arrivals) return null;
  const rate = arrivalRate(world.arrivals, pool, world.now);
  if (rate.watchedMs < MIN_WATCHED_MS) return null;
  return { perSecond: rate.perSecond, bootSeconds: world.bootSeconds ?? planner.expectedBootSeconds };
}

/**
 * Keeping one of `idle` idle agents for a moment dt costs dt; it saves a cold boot (its cost
 * in instance-seconds) if a stage arrives for it meanwhile, at rate perSecond / idle. Worth it
 * while perSecond × boot / idle > 1.
 */
export function keepRatio(odds: IdleOdds, idle: number): number {
  return (odds.perSecond * odds.bootSeconds) / Math.max(1, idle);
}

/**
 * When an idle agent's keep-or-let-go decision is due: with per-second billing after the idle
 * grace and the billing minimum, with periodic billing within the renewal window before its
 * paid period ends.
 */
export function renewalDue(i: InstanceView, now: number, planner: RenewalSettings, odds: { odds: IdleOdds; idle: number } | null = null): { due: boolean; inMs: number; detail: string } {
  const { billing, idleGraceSeconds, renewalWindowSeconds } = planner;
  const launchedAt = i.launchedAt ?? now;
  if (billing.periodSeconds <= 1 && odds) {
    const idleFor = now - (i.idleSince ?? now);
    const ratio = keepRatio(odds.odds, odds.idle);
    const maxS = planner.idleKeepMaxSeconds ?? idleGraceSeconds;
    const keepLeft = ratio > 1 ? maxS * 1000 - idleFor : 0;
    const minLeft = launchedAt + billing.minimumSeconds * 1000 - now;
    const inMs = Math.max(keepLeft, minLeft, 0);
    const odd = `arrivals at this hour × boot / idle agents = ${ratio.toFixed(2)}`;
    return { due: inMs <= 0, inMs, detail: ratio > 1 ? `idle ${Math.round(idleFor / 1000)} s, worth keeping up to ${maxS} s (${odd})` : `idle ${Math.round(idleFor / 1000)} s; keeping it costs more than the boot it may save (${odd})` };
  }
  if (billing.periodSeconds <= 1) {
    const idleFor = now - (i.idleSince ?? now);
    const graceLeft = idleGraceSeconds * 1000 - idleFor;
    const minLeft = launchedAt + billing.minimumSeconds * 1000 - now;
    const inMs = Math.max(graceLeft, minLeft, 0);
    return { due: inMs <= 0, inMs, detail: `idle ${Math.round(idleFor / 1000)} s (grace ${idleGraceSeconds} s)` };
  }
  const end = paidPeriodEnd(launchedAt, now, billing);
  const inMs = Math.max(0, end - now - renewalWindowSeconds * 1000);
  return { due: inMs <= 0, inMs, detail: `paid period ends in ${Math.round((end - now) / 1000)} s` };
}

/**
 * Renewal, for a pool with no shortfall: only idle agents are let go, only the surplus beyond
 * demand (and beyond max), and only when their renewal is due — the longest idle first, or with
 * periodic billing the earliest paid period end first. With periodic billing a needed idle
 * agent whose renewal is due is renewed for another period, once. Surplus not yet due is a hold.
 */
export function renewal(now: number, pool: PoolSpec, instances: readonly InstanceView[], need: Need, planner: RenewalSettings, odds: IdleOdds | null = null): Decision[] {
  const out: Decision[] = [];
  let surplus = beyondDemand(pool, need);
  const periodic = planner.billing.periodSeconds > 1;
  const order = instances.filter((i) => i.phase === 'idle').sort(periodic ? byPeriodEnd(now, planner) : byIdleSince);
  let notDue = 0;
  let nextDue = Infinity;
  const judged = odds ? { odds, idle: order.length } : null;
  for (const i of order) {
    const due = renewalDue(i, now, planner, judged);
    if (!due.due) {
      if (surplus > 0) notDue++;
      nextDue = Math.min(nextDue, due.inMs);
      continue;
    }
    if (surplus > 0) {
      surplus--;
      out.push(drain(i, `idle and not needed (${need.why}); ${due.detail}`));
    } else if (periodic) {
      const end = paidPeriodEnd(i.launchedAt ?? now, now, planner.billing);
      const until = end + planner.billing.periodSeconds * 1000;
      if (i.paidUntil === null || i.paidUntil < until) out.push(renew(i, until, `kept for another period: needed (${need.why})`));
    }
  }
  if (notDue > 0) {
    out.push(hold(pool.name, 'renewal-not-due', `${notDue} idle agent(s) beyond demand kept: renewal due in ${Math.max(0, Math.round(nextDue / 1000))} s`));
  }
  return out;
}

const byIdleSince = (a: InstanceView, b: InstanceView) => (a.idleSince ?? 0) - (b.idleSince ?? 0) || a.key.localeCompare(b.key);

function byPeriodEnd(now: number, planner: RenewalSettings) {
  const end = (i: InstanceView) => paidPeriodEnd(i.launchedAt ?? now, now, planner.billing);
  return (a: InstanceView, b: InstanceView) => end(a) - end(b) || a.key.localeCompare(b.key);
}

/**
 * Until when (exclusive) renewal decides what it decides now for these idle agents, while the
 * queue and the fleet stay as they are: the first agent's keep-or-let-go falling due, and with
 * the 'expected-cost' rule the odds changing (the next hour's slots; enough watching to judge by;
 * the rate, falling as quiet time is watched, making keeping stop paying). With periodic billing
 * an agent already due stays so until its paid period ends. Per-second billing with no surplus
 * decides nothing for idle agents at any time. `since`: when the arrivals were last recorded.
 */
export function renewalHorizon(world: Pick<World, 'now' | 'arrivals' | 'bootSeconds'>, since: number, pool: PoolSpec, instances: readonly InstanceView[], need: Need, planner: RenewalSettings & Pick<PlannerSettings, 'idleRule' | 'expectedBootSeconds'>): number {
  const idle = instances.filter((i) => i.phase === 'idle');
  if (idle.length === 0) return Infinity;
  const now = world.now;
  let until = Infinity;
  if (planner.billing.periodSeconds > 1) {
    for (const i of idle) {
      const due = renewalDue(i, now, planner);
      until = Math.min(until, due.due ? paidPeriodEnd(i.launchedAt ?? now, now, planner.billing) : now + due.inMs);
    }
    return until;
  }
  if (beyondDemand(pool, need) <= 0) return Infinity;
  const odds = idleOdds(world, pool.name, planner);
  for (const i of idle) {
    const due = renewalDue(i, now, planner, odds ? { odds, idle: idle.length } : null);
    if (!due.due) until = Math.min(until, now + due.inMs);
  }
  if (planner.idleRule === 'expected-cost' && world.arrivals) {
    const rate = arrivalRate(world.arrivals, pool.name, now);
    until = Math.min(until, nextHour(now), odds ? fallsTo(rate, Math.max(1, idle.length) / odds.bootSeconds, since) : watchedReaches(rate.watchedMs, MIN_WATCHED_MS, since));
  }
  return until;
}
