import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HoldCode } from '../planner/types.js';
import type { ViewPhase } from '../../machines/instance/view.js';
import type { FleetStatus } from './fleet-view.js';

/**
 * The daemon's Prometheus metrics, on a registry of its own (never prom-client's global one:
 * two daemons in one process, as in the tests, must not share counters). Counters are fed by
 * the fleet view's hooks and by the port decorators (src/http/metered-ports.ts); gauges are
 * set from the status just before each scrape, so they never disagree with the status page.
 *
 * Labels hold pool names, states, markets, codes and method names only: bounded, and never a
 * secret, an instance id or free text.
 */

/** The instance states a gauge reports, every one of them, so a series reads 0 rather than vanishing. */
const STATES = ['requested', 'booting', 'idle', 'busy', 'draining', 'priming', 'parking', 'parked'] as const satisfies readonly Exclude<ViewPhase, 'terminated'>[];
type MissingState = Exclude<Exclude<ViewPhase, 'terminated'>, (typeof STATES)[number]>;
const everyState: MissingState extends never ? true : never = true;

export const HOLD_CODES = [
  'queue-unknown',
  'at-pool-max',
  'at-fleet-max',
  'over-budget',
  'renewal-not-due',
  'stopping',
  'unmatched-stages',
  'launch-backoff',
  'launch-unknown',
  'fleet-settling',
  'cloud-unknown',
  'warm-surplus',
] as const satisfies readonly HoldCode[];
type MissingCode = Exclude<HoldCode, (typeof HOLD_CODES)[number]>;
const everyCode: MissingCode extends never ? true : never = true;
void everyState;
void everyCode;

const MARKETS = ['on-demand', 'spot'] as const;
const MODES = ['starting', 'adopting', 'running', 'degraded', 'blind', 'stopping', 'stopped'] as const;

/** Why an instance ended, in a few words a label can hold. */
export type EndReason = 'drained' | 'evicted' | 'forced' | 'launch-failed' | 'boot-failed';
const END_REASONS: readonly EndReason[] = ['drained', 'evicted', 'forced', 'launch-failed', 'boot-failed'];
export type LaunchReason = 'demand' | 'warm-pool';
const LAUNCH_REASONS: readonly LaunchReason[] = ['demand', 'warm-pool'];

/** Seconds a stage waited for an agent: from seconds (a warm agent) to hours (a cap that binds). */
const WAIT_BUCKETS = [5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800, 3600, 7200];
/** Seconds a poll or a cloud call took. */
const CALL_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class DaemonMetrics {
  readonly registry = new Registry();

  private readonly mode = new Gauge({ name: 'dda_mode', help: 'The supervisor mode: 1 for the current one, 0 for the others.', labelNames: ['mode'], registers: [this.registry] });
  private readonly ready = new Gauge({ name: 'dda_ready', help: '1 when the queue and the fleet are both seen (what /readyz answers 200 to).', registers: [this.registry] });
  private readonly queueKnown = new Gauge({ name: 'dda_queue_known', help: '1 when the last queue poll succeeded; while 0, dda_queue_stages reports nothing (unknown is not empty).', registers: [this.registry] });
  private readonly cloudKnown = new Gauge({ name: 'dda_cloud_known', help: '1 when the last describe of the fleet succeeded.', registers: [this.registry] });
  private readonly queueStages = new Gauge({ name: 'dda_queue_stages', help: 'Stages in the CI queue as last seen, by the pool that serves them and status (pending: waiting for an agent; running: on an agent).', labelNames: ['pool', 'status'], registers: [this.registry] });
  private readonly unmatchedNow = new Gauge({ name: 'dda_queue_unmatched_stages', help: 'Stages in the queue that no pool can serve (no agent will ever take them).', registers: [this.registry] });
  private readonly unmatched = new Counter({ name: 'dda_unmatched_stages_total', help: 'Distinct stages seen that no pool can serve.', registers: [this.registry] });
  private readonly instances = new Gauge({ name: 'dda_instances', help: 'Live instances by pool, state and market (unknown until the cloud has described it).', labelNames: ['pool', 'state', 'market'], registers: [this.registry] });
  private readonly poolMax = new Gauge({ name: 'dda_pool_max_instances', help: 'The most instances a pool may have.', labelNames: ['pool'], registers: [this.registry] });
  private readonly poolMin = new Gauge({ name: 'dda_pool_min_instances', help: 'The fewest instances a pool keeps.', labelNames: ['pool'], registers: [this.registry] });
  private readonly fleetMax = new Gauge({ name: 'dda_fleet_max_instances', help: 'The most instances the whole fleet may have.', registers: [this.registry] });
  private readonly budget = new Gauge({ name: 'dda_budget_usd_per_hour', help: 'What the whole fleet may cost per hour, USD.', registers: [this.registry] });
  private readonly spendRate = new Gauge({ name: 'dda_spend_rate_usd_per_hour', help: 'What the fleet costs now, USD per hour (instances at their price, parked ones at their disk).', registers: [this.registry] });
  private readonly spend = new Counter({ name: 'dda_spend_usd_total', help: 'What the fleet has cost since this daemon started, USD (its rate integrated over time).', registers: [this.registry] });
  private readonly launches = new Counter({ name: 'dda_launches_total', help: 'Instances launched, by pool and reason (demand: for the queue; warm-pool: to be parked).', labelNames: ['pool', 'reason'], registers: [this.registry] });
  private readonly terminations = new Counter({ name: 'dda_terminations_total', help: 'Instances ended, by pool and reason (drained, evicted, forced, launch-failed, boot-failed).', labelNames: ['pool', 'reason'], registers: [this.registry] });
  private readonly adopted = new Counter({ name: 'dda_adopted_total', help: 'Instances adopted from the cloud (found running at start, or left by another daemon).', registers: [this.registry] });
  private readonly decisions = new Counter({ name: 'dda_decisions_total', help: 'Planner decisions by kind; a hold counts when it starts, not on every round it stays in force.', labelNames: ['kind'], registers: [this.registry] });
  private readonly holdsStarted = new Counter({ name: 'dda_holds_total', help: 'Holds started, by pool and code.', labelNames: ['pool', 'code'], registers: [this.registry] });
  private readonly holdsNow = new Gauge({ name: 'dda_holds', help: 'Holds in force as of the last plan, by pool and code: why the fleet is not what the queue asks for.', labelNames: ['pool', 'code'], registers: [this.registry] });
  private readonly jobWait = new Histogram({ name: 'dda_job_wait_seconds', help: 'How long a stage waited in the queue before an agent took it, by pool.', labelNames: ['pool'], buckets: WAIT_BUCKETS, registers: [this.registry] });
  private readonly pollSeconds = new Histogram({ name: 'dda_queue_poll_duration_seconds', help: 'How long a queue poll took, by CI server.', labelNames: ['source'], buckets: CALL_BUCKETS, registers: [this.registry] });
  private readonly pollErrors = new Counter({ name: 'dda_queue_poll_errors_total', help: 'Queue polls that failed, by CI server and error code.', labelNames: ['source', 'code'], registers: [this.registry] });
  private readonly cloudSeconds = new Histogram({ name: 'dda_cloud_request_duration_seconds', help: 'How long a cloud call took, by provider and method.', labelNames: ['provider', 'method'], buckets: CALL_BUCKETS, registers: [this.registry] });
  private readonly builds = new Counter({ name: 'dda_builds_restarted_total', help: 'Builds restarted because the infrastructure took their agent (DDA_RESTART_INTERRUPTED_BUILDS), by CI server and reason.', labelNames: ['source', 'reason'], registers: [this.registry] });
  private readonly notices = new Counter({ name: 'dda_interruption_messages_total', help: 'Messages read from the interruption queue, by kind (malformed and foreign: ignored) and outcome (ours, not-ours, ignored).', labelNames: ['kind', 'outcome'], registers: [this.registry] });
  private readonly cloudErrors = new Counter({ name: 'dda_cloud_request_errors_total', help: 'Cloud calls that failed, by provider, method and error code.', labelNames: ['provider', 'method', 'code'], registers: [this.registry] });

  private readonly pools = new Set<string>();
  private readonly instanceSeries = new Set<string>();
  private spent = 0;

  constructor(o: { version: string }) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({ name: 'dda_build_info', help: 'The running build: 1, labelled with its version and the Node.js version.', labelNames: ['version', 'node'], registers: [this.registry] }).set({ version: o.version, node: process.versions.node }, 1);
    for (const kind of ['launch', 'drain', 'activate', 'evict', 'renew', 'hold']) this.decisions.inc({ kind }, 0);
  }

  /** A pool's series start at 0, so a rate or an alert sees them before the first event. */
  private knowPool(pool: string): void {
    if (this.pools.has(pool)) return;
    this.pools.add(pool);
    for (const reason of LAUNCH_REASONS) this.launches.inc({ pool, reason }, 0);
    for (const reason of END_REASONS) this.terminations.inc({ pool, reason }, 0);
    for (const code of HOLD_CODES) this.holdsStarted.inc({ pool, code }, 0);
    for (const state of STATES) for (const market of MARKETS) this.instanceSeries.add(JSON.stringify([pool, state, market]));
  }

  launched(pool: string, reason: LaunchReason, count: number): void {
    this.knowPool(pool);
    this.launches.inc({ pool, reason }, count);
  }

  ended(pool: string, reason: EndReason): void {
    this.knowPool(pool);
    this.terminations.inc({ pool, reason });
  }

  decided(kind: string): void {
    this.decisions.inc({ kind });
  }

  held(pool: string, code: HoldCode): void {
    this.knowPool(pool);
    this.holdsStarted.inc({ pool, code });
  }

  jobWaited(pool: string, seconds: number): void {
    this.jobWait.observe({ pool }, Math.max(0, seconds));
  }

  unmatchedSeen(count: number): void {
    this.unmatched.inc(count);
  }

  queuePolled(source: string, seconds: number, errorCode?: string): void {
    this.pollSeconds.observe({ source }, seconds);
    if (errorCode !== undefined) this.pollErrors.inc({ source, code: errorCode });
  }

  cloudCalled(provider: string, method: string, seconds: number, errorCode?: string): void {
    this.cloudSeconds.observe({ provider, method }, seconds);
    if (errorCode !== undefined) this.cloudErrors.inc({ provider, method, code: errorCode });
  }

  buildRestarted(source: string, reason: string): void {
    this.builds.inc({ source, reason });
  }

  noticed(kind: string, outcome: 'ours' | 'not-ours' | 'ignored'): void {
    this.notices.inc({ kind, outcome });
  }

  /** Set the gauges from the status, then render the exposition. */
  async render(s: FleetStatus): Promise<string> {
    this.refresh(s);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private refresh(s: FleetStatus): void {
    for (const p of s.pools) this.knowPool(p.name);
    for (const m of MODES) this.mode.set({ mode: m }, s.mode === m ? 1 : 0);
    this.ready.set(s.ready ? 1 : 0);
    this.queueKnown.set(s.queue.known ? 1 : 0);
    this.cloudKnown.set(s.cloud.known ? 1 : 0);
    // Unknown is not empty: while the queue cannot be seen, its depth is not reported at all.
    this.queueStages.reset();
    this.unmatchedNow.reset();
    if (s.queue.known) {
      for (const p of s.pools) {
        this.queueStages.set({ pool: p.name, status: 'pending' }, p.queue?.pending ?? 0);
        this.queueStages.set({ pool: p.name, status: 'running' }, p.queue?.running ?? 0);
      }
      this.unmatchedNow.set(s.unmatched ?? 0);
    }
    const counts = new Map<string, number>();
    for (const i of s.instances) {
      const k = JSON.stringify([i.pool, i.phase, i.market ?? 'unknown']);
      counts.set(k, (counts.get(k) ?? 0) + 1);
      this.instanceSeries.add(k);
    }
    for (const k of this.instanceSeries) {
      const [pool, state, market] = JSON.parse(k) as [string, string, string];
      this.instances.set({ pool, state, market }, counts.get(k) ?? 0);
    }
    for (const p of s.pools) {
      this.poolMax.set({ pool: p.name }, p.max);
      this.poolMin.set({ pool: p.name }, p.min);
      for (const code of HOLD_CODES) this.holdsNow.set({ pool: p.name, code }, p.holds.some((h) => h.code === code) ? 1 : 0);
    }
    this.fleetMax.set(s.limits.maxInstances);
    this.budget.set(s.limits.budgetPerHour);
    this.spendRate.set(s.spend.perHour);
    if (s.spend.total > this.spent) {
      this.spend.inc(s.spend.total - this.spent);
      this.spent = s.spend.total;
    }
    this.adopted.reset();
    this.adopted.inc(s.totals.adopted);
  }
}
