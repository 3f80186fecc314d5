/**
 * What an instance actor tells its supervisor about itself whenever it changes: the one
 * description of an instance that the supervisor keeps, the planner reads and the log and the
 * status page show. The instance builds it from its own state's tags, so no one outside reads
 * its state path.
 */

import type { InstanceView as PlannedInstance } from '../../src/planner/types.js';

/** Where an instance is, in the planner's words (and `terminated`, which the planner never sees). */
export type ViewPhase = 'requested' | 'booting' | 'idle' | 'busy' | 'draining' | 'priming' | 'parking' | 'parked' | 'terminated';

/**
 * What a state means to others, as XState tags on the instance's states:
 * - `capacity`: counts as capacity for its pool (launching, booting, running);
 * - `changing`: a deadline runs and the cloud is changing under it (it needs ticks, and the
 *   fleet is worth describing often);
 * - `cancellable`: booting with no agent yet, so nothing can run on it;
 * - `registering`: waiting for its container instance to register (a cold boot, a priming, a
 *   start from parked): the next step waits on a describe, so the fleet is described fastest;
 * - `drain-waiting`: draining, waiting for proof that nothing runs on it (it hears the
 *   drain-relevant facts on every observation);
 * - `undrained`: draining, but the drain has not taken effect: its agent may still take work,
 *   so while the CI queue cannot be read it is told a build may run on it;
 * - `retrying`: a command failed; the next tick tries it again (whatever its deadline);
 * - `awaits-cloud`: a cold boot, a priming boot, a park, a start from parked or an ending, whose
 *   next step is the cloud's (a describe that shows it registered, running, stopped or gone; its
 *   command's answer) or its deadline's: an observation that repeats the last one, and a tick
 *   before the deadline, change nothing (a replay skips such time: steadyUntil in the supervisor).
 */
export type InstanceTag = 'capacity' | 'changing' | 'cancellable' | 'drain-waiting' | 'registering' | 'undrained' | 'retrying' | 'awaits-cloud';

/** The planner's view of an instance (ids, times, price, cancellable), and what people need besides. */
export interface InstanceView extends Omit<PlannedInstance, 'phase'> {
  phase: ViewPhase;
  /** The state, for people (e.g. `booting.instance`); never parsed. */
  state: string;
  tags: readonly InstanceTag[];
  /** Why it is where it is. */
  reason: string;
  /** Ended or drained by something we did not choose (spot interruption, vanished, agent died). */
  forced: boolean;
  /** Parked, and its image or launch settings differ from the current ones: why. */
  drift: string | null;
  /** When it entered `state` (ms epoch). */
  since: number;
  /**
   * While a deadline runs (the `changing` tag): from when a tick may change it (ms epoch) —
   * when its deadline passes, or at once when `retrying`. A tick before then changes nothing,
   * so none is sent. Null otherwise.
   */
  deadline: number | null;
  /** Started from parked since it last parked: its boot was a warm start, not a cold one. */
  warmStart: boolean;
  /** Draining to park again rather than to be terminated. */
  thenPark: boolean;
}

/** A view's report to the supervisor; `event` is what moved the instance (for the lifecycle log). */
export interface InstanceReport {
  type: 'INSTANCE_VIEW';
  view: InstanceView;
  event: string;
}

export const hasTag = (v: Pick<InstanceView, 'tags'>, tag: InstanceTag): boolean => v.tags.includes(tag);
