import type { Demand } from '../domain/pool.js';
import type { LaunchAttempt } from './lease.js';

/**
 * The cloud, cut down to what the daemon does with it. Implemented for AWS (EC2 + ECS) and by
 * the simulator. Every method throws DdaError with a CLOUD_* code on failure:
 * CLOUD_CAPACITY / CLOUD_LIMIT (try elsewhere, later), CLOUD_THROTTLED / CLOUD_UNAVAILABLE
 * (retry), CLOUD_NOT_FOUND (already gone), CLOUD_FAILED (anything else).
 *
 * The provider never decides: the statecharts emit commands, the runtime calls these, and the
 * results come back to the statecharts as events.
 */

export type Market = 'spot' | 'on-demand';

export interface LaunchRequest {
  /** The instance actor's key; tagged on the instance (idempotency token, adoption). */
  key: string;
  /** Pool name from configuration; tagged on the instance. */
  pool: string;
  /** What the agent must offer (platform and labels). */
  demand: Demand;
  /** Agent slots (DRONE_RUNNER_CAPACITY and equivalents). */
  concurrency: number;
  /**
   * 'park' primes a warm-pool member: it boots, pulls the agent image and registers its
   * container instance, and is then parked (`park`) instead of given work. Default 'work'.
   */
  purpose?: 'work' | 'park';
  /**
   * 'park' only: buy the warm-pool member as spot through a persistent request that stops the
   * instance on interruption, valid for `validSeconds` (the warm pool's maximum age). Absent:
   * on-demand. The provider cancels the request before it terminates such an instance.
   */
  warmSpot?: { validSeconds: number };
  /**
   * Launch intents (src/runtime/launch-intents.ts): awaited before each request is sent, with
   * what would repeat it (the idempotency token); a throw stops the launch before the request.
   */
  onAttempt?: (attempt: LaunchAttempt) => Promise<void>;
  /**
   * Send exactly this earlier request again, with its idempotency token, instead of choosing
   * afresh: a cloud that honours the token answers with the instance the first one made.
   */
  repeat?: LaunchAttempt;
}

export interface LaunchResult {
  instanceId: string;
  instanceType: string;
  market: Market;
  /** USD per hour this instance is billed at. */
  pricePerHour: number;
  /** When billing started (ms epoch), as the cloud reports it (launch time). */
  launchedAt: number;
}

export type AgentState = 'none' | 'pending' | 'running' | 'stopped';

/** One instance as the cloud describes it right now. */
export interface ObservedInstance {
  instanceId: string;
  /** Our actor key, from the instance's tags. */
  key: string;
  pool: string;
  /** 'pending' | 'running' are alive; 'stopping' | 'stopped' | 'terminated' are on their way out. */
  state: 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';
  instanceType: string;
  market: Market;
  pricePerHour: number;
  launchedAt: number;
  /** The ECS container instance (the agent host) has registered with the cluster. */
  registered: boolean;
  /** The agent task on this instance. */
  agent: AgentState;
  /** The container instance is DRAINING or the agent was told to stop. */
  draining: boolean;
  /** A spot interruption warning was seen (ms epoch of the notice). */
  interruptionAt?: number;
  /**
   * When we parked it (stopped it on purpose to keep it warm: tagged `dda:parked-at`); absent
   * for an instance never parked, and cleared when it is started again. A stopped instance
   * without it was stopped by someone else.
   */
  parkedAt?: number;
  /** Launched to be parked (`purpose: 'park'`), and not yet given work. */
  priming?: boolean;
  /** Why it should not be started again (its image or launch settings differ from the current ones); absent when it matches. */
  drift?: string;
  /** Disk kept while parked, GB (what a parked instance costs). */
  storageGb?: number;
}

export interface FleetSnapshot {
  at: number;
  /** Every instance carrying this daemon's tags, whatever its state. */
  instances: ObservedInstance[];
}

/** Something `reapOrphans` cleaned up: kind ('container-instance', 'task'), its id, and why. */
export interface ReapedResource {
  kind: string;
  id: string;
  reason: string;
}

/** `maxShare`: hold a round in which more than this share of ours looks orphaned at once (src/cloud/reap-breaker.ts). */
export interface ReapOptions {
  maxShare?: number;
}

export interface CloudProvider {
  readonly kind: string;
  launch(req: LaunchRequest, signal?: AbortSignal): Promise<LaunchResult>;
  describe(signal?: AbortSignal): Promise<FleetSnapshot>;
  /** Start the agent on the instance; `agentName` names the instance to the CI server. */
  startAgent(instanceId: string, agentName: string, pool: string, signal?: AbortSignal): Promise<void>;
  /** Stop new placements and stop the agent (signal-style drain), or just stop placements (server-style). */
  drainAgent(instanceId: string, stopAgent: boolean, signal?: AbortSignal): Promise<void>;
  terminate(instanceId: string, signal?: AbortSignal): Promise<void>;
  /**
   * Warm pool, optional (a provider without them has no warm pool): stop an instance to park
   * it — billing for the machine stops, its disk and its container-instance registration stay,
   * and it is tagged parked — and start a parked one. `unpark` throws CLOUD_CAPACITY when the
   * instance's type has no room in its zone now: end it and launch another instead.
   */
  park?(instanceId: string, signal?: AbortSignal): Promise<void>;
  unpark?(instanceId: string, signal?: AbortSignal): Promise<void>;
  /**
   * Optional: clean up what this daemon left behind that no instance actor accounts for
   * (agent hosts whose instance is gone, agent tasks on no live host). Only this daemon's
   * resources. Instances themselves are not reaped here: the supervisor adopts every tagged
   * instance and its lifecycle ends the ones that never boot. A round in which too much looks
   * orphaned at once is held (logged, nothing reaped, [] returned): see ReapOptions.
   */
  reapOrphans?(signal?: AbortSignal, opts?: ReapOptions): Promise<ReapedResource[]>;
}
