import type { Config, PoolConfig } from '../config/config.js';
import { paidPeriodEnd } from './billing.js';
import { groupByPool } from './pools.js';
import type { Decision, HoldCode, InstanceView, LaunchFailures, World } from './types.js';

/**
 * The planner: world in, decisions out, each with a reason. Pure — no clock, no I/O.
 *
 * Per pool: agents wanted = ceil((pending + slots held on our agents) / concurrency), plus the
 * warm buffer while there is work, within [min, max]. Requested and booting instances count
 * as capacity, so a slow boot is never bought twice. Only idle agents are let go, and only
 * when their renewal is due (end of a paid period, or after the idle grace with per-second
 * billing). A queue we cannot see is never read as empty: hold, and after long blindness
 * drain idle agents toward zero.
 */
export type PlannerSettings = Pick<Config, 'pools' | 'planner'>;

export function plan(world: World, cfg: PlannerSettings): Decision[] {
  const out: Decision[] = [];
  const byPool = new Map<string, InstanceView[]>(cfg.pools.map((p) => [p.name, []]));
  for (const i of world.instances) (byPool.get(i.pool) ?? byPool.set(i.pool, []).get(i.pool)!).push(i);

  if (!world.queue.known) return planBlind(world, cfg, byPool, world.queue.since, world.queue.error);

  const ourAgents = new Set(world.instances.flatMap((i) => (i.instanceId ? [i.instanceId] : [])));
  const { byPool: work, unmatched } = groupByPool(world.queue.stages, cfg.pools, ourAgents);
  if (unmatched.length > 0) {
    const kinds = [...new Set(unmatched.map((s) => JSON.stringify(s.demand)))].slice(0, 3).join(' ');
    out.push(hold('*', 'unmatched-stages', `${unmatched.length} stage(s) match no pool: ${kinds}`));
  }

  let fleetCount = world.instances.length;
  let spend = world.instances.reduce((sum, i) => sum + priceOf(i, cfg.pools), 0);

  for (const pool of cfg.pools) {
    const insts = byPool.get(pool.name) ?? [];
    const active = insts.filter((i) => i.phase !== 'draining');
    const idle = insts.filter((i) => i.phase === 'idle');

    if (world.mode === 'stopping') {
      for (const i of insts) {
        if (i.phase === 'idle' || (i.phase === 'booting' && i.cancellable)) out.push(drain(i, 'daemon stopping: no more work is taken'));
      }
      if (insts.some((i) => i.phase === 'busy')) out.push(hold(pool.name, 'stopping', 'daemon stopping: busy agents finish their builds'));
      continue;
    }

    const w = work.get(pool.name) ?? { pending: 0, onOurAgents: 0 };
    const slots = w.pending + w.onOurAgents;
    const forWork = Math.ceil(slots / pool.concurrency) + (slots > 0 ? cfg.planner.warmBuffer : 0);
    // Uncapped, so that "at max" is a hold with a reason rather than a silent clamp.
    const wanted = Math.max(forWork, pool.min);
    const why = `${w.pending} pending, ${w.onOurAgents} on our agents, ${pool.concurrency}/agent: want ${wanted}, have ${active.length}`;

    const shortfall = wanted - active.length;
    const backoff = launchBackoffUntil(world.launchFailures?.[pool.name], cfg);
    if (shortfall > 0 && backoff !== null && world.now < backoff.until) {
      // A launch that keeps failing (wrong profile, no capacity anywhere) is not hammered.
      out.push(hold(pool.name, 'launch-backoff', `${backoff.failures.count} launches failed in a row (last: ${backoff.failures.reason}): next try in ${Math.ceil((backoff.until - world.now) / 1000)} s (${why})`));
      continue;
    }
    if (shortfall > 0) {
      const price = pool.pricePerHour;
      const rooms: [number, HoldCode, string][] = [
        [pool.max - insts.length, 'at-pool-max', `pool at max (${pool.max}, ${insts.length - active.length} draining)`],
        [cfg.planner.maxInstances - fleetCount, 'at-fleet-max', `fleet at max (${cfg.planner.maxInstances})`],
        [price > 0 ? Math.floor((cfg.planner.budgetPerHour - spend) / price + 1e-9) : Infinity, 'over-budget', `budget ${cfg.planner.budgetPerHour} USD/h reached (spending ${spend.toFixed(2)})`],
      ];
      let n = shortfall;
      let binding: [number, HoldCode, string] | undefined;
      for (const r of rooms) {
        if (r[0] < n) {
          n = Math.max(0, r[0]);
          binding = r;
        }
      }
      if (n > 0) {
        out.push({ kind: 'launch', pool: pool.name, count: n, reason: why });
        fleetCount += n;
        spend += n * price;
      }
      if (binding) out.push(hold(pool.name, binding[1], `${binding[2]}: ${shortfall - n} more wanted (${why})`));
      continue;
    }

    let surplus = active.length - Math.min(wanted, pool.max);
    const periodic = cfg.planner.billing.periodSeconds > 1;
    const order = [...idle].sort(periodic ? byPeriodEnd(world.now, cfg) : byIdleSince);
    let notDue = 0;
    let nextDue = Infinity;
    for (const i of order) {
      const due = renewalDue(i, world.now, cfg);
      if (!due.due) {
        if (surplus > 0) notDue++;
        nextDue = Math.min(nextDue, due.inMs);
        continue;
      }
      if (surplus > 0) {
        surplus--;
        out.push(drain(i, `idle and not needed (${why}); ${due.detail}`));
      } else if (periodic) {
        const end = paidPeriodEnd(i.launchedAt ?? world.now, world.now, cfg.planner.billing);
        const until = end + cfg.planner.billing.periodSeconds * 1000;
        if (i.paidUntil === null || i.paidUntil < until) {
          out.push({ kind: 'renew', pool: pool.name, key: i.key, until, reason: `kept for another period: needed (${why})` });
        }
      }
    }
    if (notDue > 0) {
      out.push(hold(pool.name, 'renewal-not-due', `${notDue} idle agent(s) beyond demand kept: renewal due in ${Math.max(0, Math.round(nextDue / 1000))} s`));
    }
  }
  return out;
}

function planBlind(world: World, cfg: PlannerSettings, byPool: Map<string, InstanceView[]>, since: number, error: string): Decision[] {
  const out: Decision[] = [];
  const blindS = Math.round((world.now - since) / 1000);
  const drainAll = world.now - since >= cfg.planner.blindHoldSeconds * 1000 || world.mode === 'stopping';
  for (const pool of cfg.pools) {
    const insts = byPool.get(pool.name) ?? [];
    if (drainAll) {
      // Busy is stale when blind; idle as last seen is the best we know, and a draining agent
      // still finishes what it runs.
      for (const i of insts) {
        if (i.phase === 'idle' || (i.phase === 'booting' && i.cancellable)) {
          out.push(drain(i, world.mode === 'stopping' ? 'daemon stopping' : `queue unknown for ${blindS} s (${error}): draining to zero`));
        }
      }
      out.push(hold(pool.name, 'queue-unknown', `queue unknown for ${blindS} s (${error}): no launches`));
    } else {
      out.push(hold(pool.name, 'queue-unknown', `queue unknown for ${blindS} s (${error}): holding, no launch and no drain`));
    }
  }
  return out;
}

/** The first failure is retried at the next tick; from the second on, back off exponentially. */
export function launchBackoffUntil(f: LaunchFailures | undefined, cfg: PlannerSettings): { until: number; failures: LaunchFailures } | null {
  if (!f || f.count < 2) return null;
  const ms = Math.min(cfg.planner.launchBackoffSeconds * 2 ** (f.count - 2), cfg.planner.launchBackoffMaxSeconds) * 1000;
  return { until: f.lastAt + ms, failures: f };
}

function renewalDue(i: InstanceView, now: number, cfg: PlannerSettings): { due: boolean; inMs: number; detail: string } {
  const { billing, idleGraceSeconds, renewalWindowSeconds } = cfg.planner;
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

function priceOf(i: InstanceView, pools: readonly PoolConfig[]): number {
  return i.pricePerHour > 0 ? i.pricePerHour : (pools.find((p) => p.name === i.pool)?.pricePerHour ?? 0);
}

const byIdleSince = (a: InstanceView, b: InstanceView) => (a.idleSince ?? 0) - (b.idleSince ?? 0) || a.key.localeCompare(b.key);

function byPeriodEnd(now: number, cfg: PlannerSettings) {
  const end = (i: InstanceView) => paidPeriodEnd(i.launchedAt ?? now, now, cfg.planner.billing);
  return (a: InstanceView, b: InstanceView) => end(a) - end(b) || a.key.localeCompare(b.key);
}

function drain(i: InstanceView, reason: string): Decision {
  return { kind: 'drain', pool: i.pool, key: i.key, reason };
}

function hold(pool: string, code: HoldCode, reason: string): Decision {
  return { kind: 'hold', pool, code, reason };
}
