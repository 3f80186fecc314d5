/**
 * The instance actor's vocabulary. Every event carries `now` (ms epoch): the machine never
 * reads a clock. Observation events are derived by the supervisor from fleet and queue
 * snapshots; result events come back from the interpreter after a command; DRAIN and RENEW
 * are planner decisions.
 */
export type InstanceEvent =
  // interpreter results
  | { type: 'LAUNCHED'; now: number; instanceId: string; launchedAt: number; pricePerHour: number }
  | { type: 'LAUNCH_FAILED'; now: number; reason: string; code?: string }
  | { type: 'AGENT_START_FAILED'; now: number; reason: string }
  | { type: 'DRAIN_STARTED'; now: number }
  | { type: 'DRAIN_FAILED'; now: number; reason: string }
  | { type: 'TERMINATE_FAILED'; now: number; reason: string }
  | { type: 'PARK_FAILED'; now: number; reason: string }
  | { type: 'UNPARK_FAILED'; now: number; reason: string }
  // observations (cloud describe, CI queue)
  | { type: 'REGISTERED'; now: number }
  | { type: 'AGENT_RUNNING'; now: number }
  | { type: 'AGENT_STOPPED'; now: number }
  /** `reason`: said when the build is only possible (the queue cannot be read), not seen. */
  | { type: 'BUSY'; now: number; reason?: string }
  | { type: 'IDLE'; now: number }
  /**
   * The infrastructure is taking the instance: a spot interruption (seen by describe or the
   * interruption queue), a rebalance recommendation, scheduled maintenance, a stop we did not
   * ask for. `reason` says which (default: a spot interruption).
   */
  | { type: 'SPOT_INTERRUPTION'; now: number; reason?: string }
  | { type: 'INSTANCE_GONE'; now: number }
  /** Stopped by us and tagged parked: a warm-pool member, ready to be started. */
  | { type: 'PARKED'; now: number }
  /** A parked instance no longer matches the launch settings (image, type): why. */
  | { type: 'DRIFTED'; now: number; reason: string }
  // planner decisions
  /** `then: 'park'`: once nothing runs on it, park it (warm pool) instead of terminating it. */
  | { type: 'DRAIN'; now: number; reason: string; then?: 'park' }
  /** Start a parked instance for work. */
  | { type: 'ACTIVATE'; now: number; reason: string }
  /** End a parked instance (too old, drifted, above the warm pool's target). */
  | { type: 'EVICT'; now: number; reason: string }
  | { type: 'RENEW'; now: number; until: number; reason: string }
  // time
  | { type: 'TICK'; now: number };

/** Effects the instance asks for; the runtime's interpreter performs them. */
export type InstanceCommand =
  | { type: 'launch'; key: string; pool: string; purpose: 'work' | 'park' }
  | { type: 'park'; key: string; pool: string; instanceId: string }
  | { type: 'unpark'; key: string; pool: string; instanceId: string }
  | { type: 'startAgent'; key: string; pool: string; instanceId: string }
  | { type: 'drainAgent'; key: string; pool: string; instanceId: string }
  | { type: 'terminate'; key: string; pool: string; instanceId: string };

export type InstanceCommandType = InstanceCommand['type'];

/** Where an adopted instance enters the lifecycle (decided from what the cloud shows). */
export type AdoptPhase = 'booting' | 'registered' | 'agent-pending' | 'task-running' | 'draining' | 'terminating' | 'priming' | 'parking' | 'parked';

export interface AdoptFacts {
  phase: AdoptPhase;
  instanceId: string;
  launchedAt: number;
  pricePerHour: number;
  busy: boolean;
}

export interface InstanceTimeouts {
  launchMs: number;
  bootMs: number;
  drainMs: number;
  terminateRetryMs: number;
}

export interface InstanceInput {
  key: string;
  pool: string;
  now: number;
  timeouts: InstanceTimeouts;
  /** Set when the supervisor adopts an instance it found in the cloud. */
  adopt?: AdoptFacts;
  /** 'park': launched to prime the warm pool (boot, register, then park). Default 'work'. */
  purpose?: 'work' | 'park';
}
