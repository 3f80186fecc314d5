import type { ObservedInstance } from '../../ports/cloud-provider.js';
import type { Stage } from '../../ports/queue-source.js';

/**
 * A peer's scaling policy, written from its published behaviour: every `periodMs` it sees the
 * CI queue and the fleet (through the same ports our daemon uses) and answers with actions.
 * The runner carries them out on the shared simulated cloud; agents start when their instance
 * registers, as an ECS agent would.
 */
export interface Observation {
  now: number;
  /** Stages waiting for an agent. */
  pending: number;
  /** Stages running (or accepted by an agent). */
  running: number;
  stages: readonly Stage[];
  /** Instances alive (pending or running; not shutting down or terminated). */
  fleet: readonly ObservedInstance[];
  /** Instance id → stages it holds now. */
  busy: ReadonlyMap<string, number>;
}

export interface Actions {
  launch?: number;
  terminate?: readonly string[];
  /** Instances whose agent takes no new work from now on (it finishes what it holds). */
  drain?: readonly string[];
}

export interface Policy {
  readonly name: string;
  /** How often it plans (its published poll or reconcile interval). */
  readonly periodMs: number;
  /** The fleet size it winds down to when the queue stays empty (Infinity: never scales down). */
  readonly floor: number;
  step(o: Observation): Actions;
  /**
   * Optional: called at the instant a job starts or ends (or is killed), with what a poll would
   * see then; its actions apply at that instant. For a policy that reacts to a job's end the way
   * a single-use agent does (it exits and its machine shuts itself down), not at its next poll.
   */
  onJobEvent?(o: Observation): Actions;
}

/** Agents (instances) needed for `jobs` at `concurrency` slots each. */
export const agentsFor = (jobs: number, concurrency: number): number => Math.ceil(jobs / concurrency);
