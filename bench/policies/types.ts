import type { ObservedInstance } from '../../src/ports/cloud-provider.js';
import type { Stage } from '../../src/ports/queue-source.js';

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
}

export interface Policy {
  readonly name: string;
  /** How often it plans (its published poll or reconcile interval). */
  readonly periodMs: number;
  /** The fleet size it winds down to when the queue stays empty (Infinity: never scales down). */
  readonly floor: number;
  step(o: Observation): Actions;
}

/** Agents (instances) needed for `jobs` at `concurrency` slots each. */
export const agentsFor = (jobs: number, concurrency: number): number => Math.ceil(jobs / concurrency);
