import type { FleetSnapshot, ObservedInstance } from '../../src/ports/cloud-provider.js';
import type { Stage } from '../../src/ports/queue-source.js';
import type { InstanceNotice } from '../../src/ports/interruption-source.js';
import type { AdoptFacts, InstanceEvent } from '../instance/events.js';
import { hasTag, type InstanceView } from '../instance/view.js';

/**
 * Pure translation between snapshots of the outside world and the instance actors' events.
 * The supervisor forwards only what changed for an instance, except to an instance waiting
 * out its drain, which hears the drain-relevant facts on every observation.
 */
export interface Facts {
  registered: boolean;
  agent: ObservedInstance['agent'];
  interrupted: boolean;
  busy: boolean;
  /** Stopped by us and tagged parked. */
  parked: boolean;
}

export const NO_FACTS: Facts = { registered: false, agent: 'none', interrupted: false, busy: false, parked: false };

/**
 * A container instance is usable only on a running machine: a parked (stopped) instance keeps
 * its registration, and after a start it is usable again once the cloud says so.
 */
const usable = (obs: ObservedInstance) => obs.registered && obs.state === 'running';
const isParked = (obs: ObservedInstance) => obs.state === 'stopped' && obs.parkedAt !== undefined;

const GONE_STATES = new Set<ObservedInstance['state']>(['shutting-down', 'terminated']);

/** Shutting down or terminated: nothing to adopt. */
export const isEnding = (obs: ObservedInstance) => GONE_STATES.has(obs.state);
const STOPPED_STATES = new Set<ObservedInstance['state']>(['stopping', 'stopped']);

const isDrainWaiting = (v: InstanceView) => hasTag(v, 'drain-waiting');

/** Events for one instance from a fleet observation; `obs` undefined = not in the describe. */
export function fleetEvents(
  view: InstanceView,
  prev: Facts,
  obs: ObservedInstance | undefined,
  at: number,
  goneGraceMs: number,
): { events: InstanceEvent[]; facts: Facts } {
  const events: InstanceEvent[] = [];
  if (!obs || GONE_STATES.has(obs.state)) {
    // Eventual consistency: an instance just launched may not be listed yet.
    const seenLongEnough = view.launchedAt !== null && at - view.launchedAt >= goneGraceMs;
    if (obs || seenLongEnough) events.push({ type: 'INSTANCE_GONE', now: at });
    return { events, facts: prev };
  }
  const agent = STOPPED_STATES.has(obs.state) ? 'stopped' : obs.agent;
  const registered = usable(obs);
  // Sticky: a notice from the interruption queue may have told the instance before describe shows it.
  const interrupted = prev.interrupted || obs.interruptionAt !== undefined;
  const parked = isParked(obs);
  // Unchanged facts are the same object: every instance is described every few seconds.
  const facts: Facts =
    registered === prev.registered && agent === prev.agent && interrupted === prev.interrupted && parked === prev.parked
      ? prev
      : { registered, agent, interrupted, busy: prev.busy, parked };
  if (facts.registered && !prev.registered) events.push({ type: 'REGISTERED', now: at });
  if (facts.parked && !prev.parked) events.push({ type: 'PARKED', now: at });
  if (agent === 'running' && prev.agent !== 'running') events.push({ type: 'AGENT_RUNNING', now: at });
  const wasUp = prev.agent === 'running' || prev.agent === 'pending';
  if (agent !== 'running' && agent !== 'pending' && wasUp) events.push({ type: 'AGENT_STOPPED', now: at });
  else if (isDrainWaiting(view) && agent !== 'running' && agent !== 'pending') events.push({ type: 'AGENT_STOPPED', now: at });
  if (facts.interrupted && !prev.interrupted) events.push({ type: 'SPOT_INTERRUPTION', now: at });
  // A parked instance hears of drift until it knows (it may have parked after the cloud saw it).
  if (obs.drift && view.phase === 'parked' && view.drift !== obs.drift) events.push({ type: 'DRIFTED', now: at, reason: obs.drift });
  return { events, facts };
}

const NOTICE_REASON: Record<Exclude<InstanceNotice['kind'], 'state-change'>, string> = {
  'spot-interruption': 'forced: spot interruption warning',
  rebalance: 'forced: spot rebalance recommendation',
  'scheduled-change': 'forced: scheduled maintenance',
};

/**
 * Events for one instance from a notice of the interruption queue: the same facts describe
 * would show a little later, so both paths end in the same transitions. A warning that the
 * cloud will take the instance (interruption, rebalance, maintenance) drains it at once; a
 * state change to shutting-down/terminated ends it; a stop we did not ask for (the instance is
 * not parking) drains it as the infrastructure's doing.
 */
export function noticeEvents(view: InstanceView, prev: Facts, notice: InstanceNotice, at: number): { events: InstanceEvent[]; facts: Facts } {
  const ours = view.phase === 'parking' || view.phase === 'parked';
  if (notice.kind === 'state-change') {
    if (notice.state === 'shutting-down' || notice.state === 'terminated') return { events: [{ type: 'INSTANCE_GONE', now: at }], facts: prev };
    if ((notice.state === 'stopping' || notice.state === 'stopped') && !ours && !prev.interrupted) {
      return { events: [{ type: 'SPOT_INTERRUPTION', now: at, reason: `forced: instance ${notice.state} by someone else` }], facts: { ...prev, interrupted: true } };
    }
    return { events: [], facts: prev };
  }
  if (prev.interrupted || ours) return { events: [], facts: prev };
  const reason = notice.kind === 'scheduled-change' && notice.what ? `${NOTICE_REASON[notice.kind]} (${notice.what})` : NOTICE_REASON[notice.kind];
  return { events: [{ type: 'SPOT_INTERRUPTION', now: at, reason }], facts: { ...prev, interrupted: true } };
}

/** BUSY/IDLE for one instance from a queue observation. */
export function queueEvents(view: InstanceView, prev: Facts, busy: boolean, at: number): { events: InstanceEvent[]; facts: Facts } {
  // The common case (nothing changed for this instance) allocates nothing: it runs for every
  // instance on every queue poll.
  if (busy === prev.busy && !isDrainWaiting(view)) return NOTHING_NEW(prev);
  return { events: [{ type: busy ? 'BUSY' : 'IDLE', now: at }], facts: busy === prev.busy ? prev : { ...prev, busy } };
}

/**
 * The queue cannot be read: an agent whose drain has not taken effect may have taken a build we
 * cannot see, so it is told one may run (once, until a readable queue says otherwise) — its drain
 * is then never given up for a terminate that could kill that build. Other agents hear nothing:
 * an idle agent must stay drainable while the daemon is blind.
 */
export function blindQueueEvents(view: InstanceView, prev: Facts, at: number): { events: InstanceEvent[]; facts: Facts } {
  if (prev.busy || !hasTag(view, 'undrained')) return NOTHING_NEW(prev);
  return { events: [{ type: 'BUSY', now: at, reason: 'the CI queue cannot be read: a build may run on the agent' }], facts: { ...prev, busy: true } };
}

const NO_EVENTS: InstanceEvent[] = [];
const NOTHING_NEW = (facts: Facts) => ({ events: NO_EVENTS, facts });

/** Where an instance found in the cloud enters the lifecycle; null when there is nothing to adopt. */
export function adoptFactsOf(obs: ObservedInstance, busy: boolean): AdoptFacts | null {
  if (GONE_STATES.has(obs.state)) return null;
  const base = { instanceId: obs.instanceId, launchedAt: obs.launchedAt, pricePerHour: obs.pricePerHour, busy };
  // Parked by a daemon of ours: a warm-pool member. Stopped by anyone else: ended.
  if (obs.parkedAt !== undefined && obs.state === 'stopped') return { ...base, phase: 'parked' };
  if (obs.parkedAt !== undefined && obs.state === 'stopping') return { ...base, phase: 'parking' };
  if (STOPPED_STATES.has(obs.state)) return { ...base, phase: 'terminating' };
  if (obs.priming && obs.agent === 'none' && !obs.draining) return { ...base, phase: usable(obs) ? 'parking' : 'priming' };
  if (obs.draining) return { ...base, phase: 'draining' };
  if (obs.agent === 'running') return { ...base, phase: 'task-running' };
  if (obs.agent === 'pending') return { ...base, phase: 'agent-pending' };
  if (obs.registered) return { ...base, phase: 'registered' };
  return { ...base, phase: 'booting' };
}

export function factsOfAdopted(obs: ObservedInstance, busy: boolean): Facts {
  return { registered: usable(obs), agent: STOPPED_STATES.has(obs.state) ? 'stopped' : obs.agent, interrupted: obs.interruptionAt !== undefined, busy, parked: isParked(obs) };
}

const agentsOf = new WeakMap<readonly Stage[], ReadonlySet<string>>();

/**
 * The agents running the stages: computed once per stage list (a source that answers the same
 * list when nothing changed, as the simulator does, costs nothing per poll).
 */
export function busyAgents(stages: readonly Stage[]): ReadonlySet<string> {
  let busy = agentsOf.get(stages);
  if (!busy) {
    const set = new Set<string>();
    for (const s of stages) if (s.agent) set.add(s.agent);
    agentsOf.set(stages, (busy = set));
  }
  return busy;
}

/** A describe's list indexed by instance id, and the instances in it that are not ending (the only ones a describe can adopt). */
export interface FleetIndex {
  readonly byId: ReadonlyMap<string, ObservedInstance>;
  readonly live: readonly ObservedInstance[];
}

const indexOf = new WeakMap<readonly ObservedInstance[], FleetIndex>();

/** Index a fleet snapshot (once per list: the simulator answers the same list while nothing changed). */
export function indexFleet(s: FleetSnapshot): FleetIndex {
  let index = indexOf.get(s.instances);
  if (!index) {
    const byId = new Map<string, ObservedInstance>();
    const live: ObservedInstance[] = [];
    for (const o of s.instances) {
      byId.set(o.instanceId, o);
      if (!isEnding(o)) live.push(o);
    }
    indexOf.set(s.instances, (index = { byId, live }));
  }
  return index;
}
