import type { LeaseState } from '../runtime/replica.js';
import { systemClock, type Clock } from '../domain/clock.js';
import { matchPools } from '../planner/match-pools.js';
import type { Decision, HoldCode } from '../planner/types.js';
import type { Daemon } from '../runtime/daemon.js';
import type { Transition } from '../runtime/lifecycle-log.js';
import type { ViewPhase } from '../../machines/instance/view.js';
import { cloudOf, describedOf, fleetOf, holdsOf, modeOf, queueOf, settingsOf, statsOf } from '../../machines/supervisor/selectors.js';
import { DaemonMetrics, type EndReason } from './metrics.js';

/**
 * What an operator sees: the supervisor's mode, the queue as last seen, each pool with its
 * limits, its queue and its holds, every instance with its state, type, market, price and the
 * reason it is there, what the fleet costs, and the recent decisions with theirs. Built from
 * the supervisor's fleet (its selectors) and the decision and transition feeds; holds nothing
 * secret by construction (no config values beyond pool names and limits, no tokens, no
 * environment). Times are ms epoch on the injected clock; `now` says when the status was taken.
 */
export interface FleetStatus {
  now: number;
  version: string;
  mode: string;
  /** The queue and the fleet are both seen (what /readyz says). */
  ready: boolean;
  queue: { known: boolean; pending: number; running: number; since?: number; error?: string };
  cloud: { known: boolean; since?: number; error?: string };
  /** Stages no pool can serve; null while the queue is unknown. */
  unmatched: number | null;
  limits: { maxInstances: number; budgetPerHour: number };
  /** USD: `perHour` is what the fleet costs now; `today` since midnight UTC, `total` since `since` (this daemon's start). */
  spend: { perHour: number; today: number; total: number; since: number };
  pools: PoolStatus[];
  /** Why the fleet is not what the queue asks for, as of the last plan. */
  holds: { pool: string; code: HoldCode; reason: string }[];
  instances: InstanceStatus[];
  decisions: { at: number; kind: string; pool: string; key?: string; count?: number; code?: string; reason: string }[];
  totals: { launched: number; adopted: number; released: number; forced: number; decisions: Record<string, number> };
}

export interface PoolStatus {
  name: string;
  min: number;
  max: number;
  concurrency: number;
  warmPool: { size: number | 'auto'; min: number; max: number } | null;
  /** Null while the queue is unknown. */
  queue: { pending: number; running: number } | null;
  instances: number;
  byPhase: Partial<Record<ViewPhase, number>>;
  holds: { code: HoldCode; reason: string }[];
}

export interface InstanceStatus {
  key: string;
  instance: string | null;
  pool: string;
  state: string;
  phase: string;
  reason: string;
  forced: boolean;
  /** When it entered its state. */
  since: number | null;
  launchedAt: number | null;
  /** Null until the cloud has described it. */
  type: string | null;
  market: string | null;
  pricePerHour: number;
}

export interface FleetViewOptions {
  clock?: Clock;
  /** Recent decisions kept. */
  keep?: number;
  version?: string;
  /** This replica's lease, when replicas share one (runtime/replica.ts); a standby is not ready. */
  lease?: () => LeaseState | undefined;
}

const HOUR_MS = 3_600_000;
const HOURS_PER_MONTH = 730;

export class FleetView {
  /** Counters and gauges for `/metrics`; the port decorators feed it too (src/http/metered-ports.ts). */
  readonly meter: DaemonMetrics;
  private readonly clock: Clock;
  private readonly keep: number;
  private readonly version: string;
  private readonly lease: () => LeaseState | undefined;
  private readonly recent: FleetStatus['decisions'] = [];
  private readonly counts: Record<string, number> = {};
  /** Holds in force as of the last planning round, by `pool/code`, and the round's time. */
  private holdsBefore = new Set<string>();
  private holdsNow = new Set<string>();
  private roundAt = -1;
  /** Per instance on its way out: why, as judged when it left its last live phase. */
  private readonly endCause = new Map<string, EndReason>();
  private readonly startedAt: number;
  private spent = { total: 0, today: 0, day: '', at: 0, rate: 0 };

  constructor(
    private readonly daemon: () => Daemon | undefined,
    o: FleetViewOptions = {},
  ) {
    this.clock = o.clock ?? systemClock;
    this.keep = o.keep ?? 100;
    this.version = o.version ?? 'unknown';
    this.lease = o.lease ?? (() => undefined);
    this.meter = new DaemonMetrics({ version: this.version });
    this.startedAt = this.clock.now();
    this.spent.at = this.startedAt;
    this.spent.day = utcDay(this.startedAt);
  }

  /** The daemon's hooks, to spread into `startDaemon`'s options. */
  get hooks(): { onDecision: (d: Decision, now: number) => void; onTransition: (t: Transition) => void } {
    return { onDecision: this.onDecision, onTransition: this.onTransition };
  }

  onDecision = (d: Decision, now: number): void => {
    this.account();
    if (now !== this.roundAt) {
      this.holdsBefore = this.holdsNow;
      this.holdsNow = new Set();
      this.roundAt = now;
    }
    if (d.kind === 'hold') {
      // A hold repeats every round; it counts and shows once, when it starts.
      const id = `${d.pool}/${d.code}`;
      this.holdsNow.add(id);
      if (this.holdsBefore.has(id)) return;
      this.meter.held(d.pool, d.code);
    }
    if (d.kind === 'launch') this.meter.launched(d.pool, d.purpose === 'park' ? 'warm-pool' : 'demand', d.count);
    this.meter.decided(d.kind);
    this.counts[d.kind] = (this.counts[d.kind] ?? 0) + 1;
    this.recent.push({
      at: now,
      kind: d.kind,
      pool: d.pool,
      ...('key' in d ? { key: d.key } : {}),
      ...(d.kind === 'launch' ? { count: d.count } : {}),
      ...(d.kind === 'hold' ? { code: d.code } : {}),
      reason: d.reason,
    });
    if (this.recent.length > this.keep) this.recent.splice(0, this.recent.length - this.keep);
  };

  onTransition = (t: Transition): void => {
    this.account();
    if (t.machine !== 'instance' || t.toPhase === null || t.pool === null) return;
    if (t.toPhase === 'terminated') {
      this.meter.ended(t.pool, t.forced ? 'forced' : (this.endCause.get(t.key) ?? endReason(t.fromPhase, t.reason)));
      this.endCause.delete(t.key);
    } else if (t.toPhase === 'draining' && t.fromPhase !== 'draining') {
      this.endCause.set(t.key, endReason(t.fromPhase, t.reason));
    }
  };

  /** Ready: the fleet has been described and the queue seen, and neither is unknown now. */
  ready(): { ready: boolean; why: string } {
    const lease = this.lease();
    // A standby acts on nothing: a load balancer or an orchestrator must see it as not ready.
    if (lease?.role === 'standby') return { ready: false, why: `standby: the lease is held by ${lease.heldBy ?? 'nobody yet'}` };
    const snap = this.daemon()?.supervisor.getSnapshot();
    if (!snap) return { ready: false, why: 'starting' };
    const mode = modeOf(snap);
    if (mode === 'adopting') return { ready: false, why: 'adopting: the fleet has not been described yet' };
    if (mode === 'blind' || !cloudOf(snap).known) return { ready: false, why: 'blind: the cloud cannot be described' };
    if (!queueOf(snap).known) return { ready: false, why: 'degraded: the queue cannot be seen' };
    if (mode !== 'running') return { ready: false, why: mode };
    return { ready: true, why: 'running' };
  }

  status(): FleetStatus {
    this.account();
    const now = this.clock.now();
    const snap = this.daemon()?.supervisor.getSnapshot();
    const q = snap && queueOf(snap);
    const cloud = snap ? cloudOf(snap) : { known: false as const, since: this.startedAt, error: 'not yet described' };
    const settings = snap ? settingsOf(snap) : undefined;
    const views = snap ? fleetOf(snap) : [];
    const instances: InstanceStatus[] = views.map((v) => {
      const d = snap ? describedOf(snap, v.instanceId) : undefined;
      return { key: v.key, instance: v.instanceId, pool: v.pool, state: v.state, phase: v.phase, reason: v.reason, forced: v.forced, since: v.since, launchedAt: v.launchedAt, type: d?.instanceType ?? null, market: d?.market ?? null, pricePerHour: v.pricePerHour };
    });
    const holds = snap ? holdsOf(snap).map((h) => ({ pool: h.pool, code: h.code, reason: h.reason })) : [];
    const match = q?.known && settings ? matchPools(q.stages, settings.pools) : undefined;
    const pools: PoolStatus[] = (settings?.pools ?? []).map((p) => {
      const stages = match?.byPool.get(p.name) ?? [];
      const mine = views.filter((v) => v.pool === p.name);
      const byPhase: PoolStatus['byPhase'] = {};
      for (const v of mine) byPhase[v.phase] = (byPhase[v.phase] ?? 0) + 1;
      const wp = p.warmPool && p.warmPool.size !== 0 ? { size: p.warmPool.size, min: p.warmPool.min, max: p.warmPool.max } : null;
      return {
        name: p.name,
        min: p.min,
        max: p.max,
        concurrency: p.concurrency,
        warmPool: wp,
        queue: match ? { pending: stages.filter((s) => s.status === 'pending' && !s.agent).length, running: stages.filter((s) => s.agent).length } : null,
        instances: mine.length,
        byPhase,
        holds: holds.filter((h) => h.pool === p.name).map(({ code, reason }) => ({ code, reason })),
      };
    });
    return {
      now,
      version: this.version,
      mode: snap ? modeOf(snap) : 'starting',
      ready: this.ready().ready,
      queue: !q
        ? { known: false, pending: 0, running: 0 }
        : q.known
          ? { known: true, pending: q.stages.filter((s) => s.status === 'pending' && !s.agent).length, running: q.stages.filter((s) => s.agent).length }
          : { known: false, pending: 0, running: 0, since: q.since, error: q.error },
      cloud: cloud.known ? { known: true } : { known: false, since: cloud.since, error: cloud.error },
      unmatched: match ? match.unmatched.length : null,
      limits: { maxInstances: settings?.planner.maxInstances ?? 0, budgetPerHour: settings?.planner.budgetPerHour ?? 0 },
      spend: { perHour: round(this.spent.rate, 4), today: round(this.spent.today, 4), total: round(this.spent.total, 4), since: this.startedAt },
      pools,
      holds,
      instances,
      decisions: [...this.recent].reverse(),
      totals: { ...(snap ? statsOf(snap) : { launched: 0, adopted: 0, released: 0, forced: 0 }), decisions: { ...this.counts } },
    };
  }

  /** Prometheus text exposition, with its content type. */
  async metrics(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.meter.contentType, body: await this.meter.render(this.status()) };
  }

  /**
   * Spend is the fleet's rate integrated over time: the rate since the last change is added
   * up to now, then the rate is read again. Called on every decision and transition (the
   * moments the rate changes) and on every read.
   */
  private account(): void {
    const now = this.clock.now();
    const s = this.spent;
    if (now > s.at) {
      const day = utcDay(now);
      if (day !== s.day) {
        // Crossed midnight: today starts at midnight.
        s.today = (s.rate * (now - Date.parse(`${day}T00:00:00Z`))) / HOUR_MS;
        s.day = day;
      } else {
        s.today += (s.rate * (now - s.at)) / HOUR_MS;
      }
      s.total += (s.rate * (now - s.at)) / HOUR_MS;
      s.at = now;
    }
    s.rate = this.rate();
  }

  /** USD per hour now: running instances at their price, parked ones at their disk's. */
  private rate(): number {
    const snap = this.daemon()?.supervisor.getSnapshot();
    if (!snap) return 0;
    const pools = new Map(settingsOf(snap).pools.map((p) => [p.name, p]));
    let usd = 0;
    for (const v of fleetOf(snap)) {
      if (v.phase === 'parked') {
        const wp = pools.get(v.pool)?.warmPool;
        if (wp) usd += (wp.storageGb * wp.storageUsdPerGbMonth) / HOURS_PER_MONTH;
      } else if (v.phase !== 'terminated') {
        usd += v.pricePerHour;
      }
    }
    return usd;
  }
}

/**
 * Why an instance ends, judged when it leaves its last live phase: a launch that never gave an
 * instance, a boot that failed (a deadline passed, the agent stopped), a parked instance let go,
 * or a drain the planner chose (which includes cancelling a boot nobody needs any more).
 */
function endReason(from: ViewPhase | null, reason: string): EndReason {
  if (from === 'requested') return 'launch-failed';
  if ((from === 'booting' || from === 'priming') && /deadline|stopped|did not/.test(reason)) return 'boot-failed';
  if (from === 'parked' || from === 'parking') return 'evicted';
  return 'drained';
}

const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;
