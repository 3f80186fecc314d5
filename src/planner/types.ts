import type { PoolSpec } from '../domain/pool.js';
import type { Stage } from '../ports/queue-source.js';
import type { ArrivalHistory } from './arrivals.js';

/** How the cloud bills an instance. */
export interface Billing {
  /** 1 for per-second billing, 3600 for hourly. */
  periodSeconds: number;
  /** Minimum billed time per instance (AWS Linux: 60 s). */
  minimumSeconds: number;
}

/** The planner's knobs; durations in seconds, as configured. */
export interface PlannerSettings {
  billing: Billing;
  /**
   * Per-second billing: how an idle agent beyond demand is let go. 'expected-cost' (default):
   * as soon as keeping it is expected to cost more than the cold boot it might save, judged
   * from the arrivals seen at this hour of the day (until an hour has been watched long enough,
   * after `idleGraceSeconds`); 'grace': after `idleGraceSeconds` idle.
   */
  idleRule: 'expected-cost' | 'grace';
  /** Per-second billing: an idle agent is let go after this long idle (the 'grace' rule, and 'expected-cost' without history). */
  idleGraceSeconds: number;
  /** 'expected-cost': an idle agent worth keeping is still let go after this long idle (a guess can be wrong for long). */
  idleKeepMaxSeconds: number;
  /** 'expected-cost': what a cold boot costs in instance-seconds, until boots have been seen. */
  expectedBootSeconds: number;
  /** Periodic billing: the keep/let-go decision is made this long before the paid period ends. */
  renewalWindowSeconds: number;
  /** Idle agents kept per pool beyond demand (within max), while there is work. */
  warmBuffer: number;
  /** Queue unknown for this long: stop holding, drain to zero. */
  blindHoldSeconds: number;
  /** After repeated launch failures in a pool, wait this long before the next try (doubling each time). */
  launchBackoffSeconds: number;
  launchBackoffMaxSeconds: number;
  /** Whole fleet, all pools. */
  maxInstances: number;
  /** USD per hour, whole fleet. */
  budgetPerHour: number;
}

/** Everything `plan()` is told besides the world: the pools, in configuration order, and the knobs. */
export interface PlanSettings {
  pools: readonly PoolSpec[];
  planner: PlannerSettings;
}

/** What the planner sees of one instance (read from its actor's snapshot). */
export interface InstanceView {
  key: string;
  pool: string;
  /**
   * requested / booting / idle or busy agent / draining; and for the warm pool: priming
   * (launched to be parked), parking (being stopped), parked (stopped, ready to start).
   * Terminated instances are not shown.
   */
  phase: 'requested' | 'booting' | 'idle' | 'busy' | 'draining' | 'priming' | 'parking' | 'parked';
  /** Booting but no agent task started yet: nothing can run on it, so it may be cancelled. */
  cancellable: boolean;
  instanceId: string | null;
  launchedAt: number | null;
  idleSince: number | null;
  paidUntil: number | null;
  pricePerHour: number;
  /** When it entered its present state (the warm pool's surplus rule reads it); absent = unknown. */
  since?: number;
  /** Parked, and its image or launch settings differ from the current ones: why (evicted). */
  drift?: string | null;
  /** Started from parked since it last parked (the warm pool counts it as coming back); absent = no. */
  warmStart?: boolean;
  /** Draining to park again, not to be terminated (the warm pool counts it as coming back); absent = no. */
  thenPark?: boolean;
}

export type QueueView =
  | { known: true; at: number; stages: readonly Stage[] }
  | { known: false; since: number; error: string };

/** Consecutive launch failures of a pool since its last successful launch. */
export interface LaunchFailures {
  count: number;
  lastAt: number;
  reason: string;
  /** The last failure was the cloud throttling us (CLOUD_THROTTLED): back off from the first one. */
  throttled?: boolean;
}

/**
 * Launches in this pool whose outcome is unknown (no answer): launches in the pool wait, and each
 * of `keys` (the lost launches no describe has shown yet) counts against the fleet's max and the
 * budget, as the instance it may have made, until a describe taken at or after `until` (the
 * describe's consistency grace after the loss) has answered: the supervisor then forgets it.
 * Time alone does not end it: while the cloud cannot be seen, nothing says the instance is not there.
 */
export interface LaunchUnknown {
  until: number;
  reason: string;
  keys: readonly string[];
}

export type CloudView = { known: true } | { known: false; since: number; error: string };

export interface World {
  now: number;
  mode: 'running' | 'stopping';
  queue: QueueView;
  instances: readonly InstanceView[];
  launchFailures?: Readonly<Record<string, LaunchFailures>>;
  /** Per pool, a launch whose answer was lost; absent = none. */
  launchesUnknown?: Readonly<Record<string, LaunchUnknown>>;
  /** Launches wait until `until` after a start: a describe may still omit instances launched within `graceMs`. */
  settling?: { until: number; graceMs: number };
  /** The last fleet describe; unknown (cloud blind) → no launches. Absent = known. */
  cloud?: CloudView;
  /** The arrivals seen by hour, for the idle rule (hour of day) and the warm pool (hour of the week); absent = none seen. */
  arrivals?: ArrivalHistory;
  /** How long cold boots took lately (launch → agent running), seconds; absent = none seen yet. */
  bootSeconds?: number;
}

export type Decision =
  | { kind: 'launch'; pool: string; count: number; reason: string; purpose?: 'park' }
  | { kind: 'drain'; pool: string; key: string; reason: string; then?: 'park' }
  | { kind: 'activate'; pool: string; key: string; reason: string }
  | { kind: 'evict'; pool: string; key: string; reason: string }
  | { kind: 'renew'; pool: string; key: string; until: number; reason: string }
  | { kind: 'hold'; pool: string; reason: string; code: HoldCode };

/** Stable codes for why the planner held back; logs dedupe on them. */
export type HoldCode =
  | 'queue-unknown'
  | 'at-pool-max'
  | 'at-fleet-max'
  | 'over-budget'
  | 'renewal-not-due'
  | 'stopping'
  | 'unmatched-stages'
  | 'launch-backoff'
  | 'launch-unknown'
  | 'fleet-settling'
  | 'cloud-unknown'
  | 'warm-surplus';
