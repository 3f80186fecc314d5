import type { PoolSpec } from '../domain/pool.js';
import { paidPeriodEnd } from './billing.js';
import { drain, hold, renew } from './decide.js';
import type { Need } from './sizing.js';
import type { Decision, InstanceView, PlannerSettings } from './types.js';

type RenewalSettings = Pick<PlannerSettings, 'billing' | 'idleGraceSeconds' | 'renewalWindowSeconds'>;

/**
 * When an idle agent's keep-or-let-go decision is due: with per-second billing after the idle
 * grace and the billing minimum, with periodic billing within the renewal window before its
 * paid period ends.
 */
export function renewalDue(i: InstanceView, now: number, planner: RenewalSettings): { due: boolean; inMs: number; detail: string } {
  const { billing, idleGraceSeconds, renewalWindowSeconds } = planner;
  const launchedAt = i.launchedAt ?? now;
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
export function renewal(now: number, pool: PoolSpec, instances: readonly InstanceView[], need: Need, planner: RenewalSettings): Decision[] {
  const out: Decision[] = [];
  let surplus = need.active - Math.min(need.wanted, pool.max);
  const periodic = planner.billing.periodSeconds > 1;
  const order = instances.filter((i) => i.phase === 'idle').sort(periodic ? byPeriodEnd(now, planner) : byIdleSince);
  let notDue = 0;
  let nextDue = Infinity;
  for (const i of order) {
    const due = renewalDue(i, now, planner);
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
