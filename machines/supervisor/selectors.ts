import type { SnapshotFrom } from 'xstate';
import type { CloudView, Decision, QueueView } from '../../src/planner/types.js';
import type { Market, ObservedInstance } from '../../src/ports/cloud-provider.js';
import { hasTag, type InstanceView } from '../instance/view.js';
import { steadyUntil, type SupervisorContext, type SupervisorMode, type supervisorMachine } from './supervisor.machine.js';

/**
 * The one way the runtime, the lifecycle log, the status page and the tests read the fleet:
 * from the supervisor's own snapshot, which holds every instance's reported view. Nothing
 * outside `machines/` reads an actor's state path or a child's snapshot.
 */
export type SupervisorSnapshot = SnapshotFrom<typeof supervisorMachine>;

export function modeOf(s: SupervisorSnapshot): SupervisorMode {
  return s.value as SupervisorMode;
}

/** Every live instance as it last reported itself, by key. */
export function fleetOf(s: SupervisorSnapshot): InstanceView[] {
  return Object.values(s.context.fleet).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function liveCount(s: SupervisorSnapshot): number {
  return Object.keys(s.context.fleet).length;
}

type Fleet = SupervisorContext['fleet'];

/**
 * A question about the whole fleet, answered once per fleet object: the runtime asks before
 * every poll, and the fleet object changes only when an instance reports a change.
 */
function perFleet(ask: (fleet: Fleet) => boolean): (s: SupervisorSnapshot) => boolean {
  const answers = new WeakMap<Fleet, boolean>();
  return (s) => {
    const fleet = s.context.fleet;
    let a = answers.get(fleet);
    if (a === undefined) answers.set(fleet, (a = ask(fleet)));
    return a;
  };
}

/** Something is launching, booting or draining: deadlines run and the cloud is changing, so describe it often. */
export const needsFastPolling = perFleet((fleet) => {
  for (const k in fleet) if (hasTag(fleet[k]!, 'changing')) return true;
  return false;
});

/**
 * An instance waits for its container instance to register: its agent is started (or, priming,
 * it is parked) as soon as a describe shows the registration, so describe at the fastest cadence.
 */
export const awaitsRegistration = perFleet((fleet) => {
  for (const k in fleet) if (hasTag(fleet[k]!, 'registering')) return true;
  return false;
});

/**
 * The queue is worth polling often: a build runs on one of our agents (its end frees the agent),
 * or a parked instance waits (a new build can start in seconds, once it is seen).
 */
export const queueWorthWatching = perFleet((fleet) => {
  for (const k in fleet) if (fleet[k]!.phase === 'busy' || fleet[k]!.phase === 'parked') return true;
  return false;
});

export function statsOf(s: SupervisorSnapshot): SupervisorContext['stats'] {
  return s.context.stats;
}

/** Why the fleet is not what the queue asks for, as of the last plan. */
export function holdsOf(s: SupervisorSnapshot): readonly Extract<Decision, { kind: 'hold' }>[] {
  return s.context.holds;
}

export function queueOf(s: SupervisorSnapshot): QueueView {
  return s.context.queue;
}

export function cloudOf(s: SupervisorSnapshot): CloudView {
  return s.context.cloud;
}

type Described = { instanceType: string; market: Market };
/** Type and market by instance id, one map per describe list, made when someone asks. */
const describedById = new WeakMap<readonly ObservedInstance[], ReadonlyMap<string, Described>>();

/** What the cloud last said an instance is (type, market); undefined before it was described. */
export function describedOf(s: SupervisorSnapshot, instanceId: string | null): Described | undefined {
  if (instanceId === null) return undefined;
  const list = s.context.described;
  let byId = describedById.get(list);
  if (!byId) describedById.set(list, (byId = new Map(list.map((o) => [o.instanceId, { instanceType: o.instanceType, market: o.market }]))));
  return byId.get(instanceId);
}

/** The settings the supervisor plans with (pools with their limits and warm pools, fleet max, budget). */
export function settingsOf(s: SupervisorSnapshot): Pick<SupervisorContext['input'], 'pools' | 'planner'> {
  return { pools: s.context.input.pools, planner: s.context.input.planner };
}

/** The live instance with this cloud id, as it last reported itself; undefined when none of ours has it. */
export function instanceById(s: SupervisorSnapshot, instanceId: string): InstanceView | undefined {
  for (const v of Object.values(s.context.fleet)) if (v.instanceId === instanceId) return v;
  return undefined;
}

/** The builds of the stages the last queue snapshot shows on an agent (by its name, the instance id); [] while the queue is unknown. */
export function buildsOn(s: SupervisorSnapshot, agent: string): string[] {
  const q = s.context.queue;
  if (!q.known) return [];
  return [...new Set(q.stages.flatMap((st) => (st.agent === agent && st.build !== undefined ? [st.build] : [])))];
}

/**
 * Until when (exclusive) polls and ticks that see what the last ones saw change nothing but the
 * time the queue was watched (see steadyUntil); -Infinity when they may change something now:
 * a replay may skip them until then.
 */
export function steadyFor(s: SupervisorSnapshot, now: number): number {
  return s.status === 'active' ? steadyUntil(s.context, modeOf(s), now) : -Infinity;
}
