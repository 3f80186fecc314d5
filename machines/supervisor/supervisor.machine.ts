import { assign, createActor, emit, enqueueActions, setup } from 'xstate';
import type { PoolSpec } from '../../src/domain/pool.js';
import type { FleetSnapshot, ObservedInstance } from '../../src/ports/cloud-provider.js';
import type { QueueSnapshot, Stage } from '../../src/ports/queue-source.js';
import type { InstanceNotice } from '../../src/ports/interruption-source.js';
import { emptyHistory, recordArrivals, type ArrivalHistory } from '../../src/planner/arrivals.js';
import { matchPools } from '../../src/planner/match-pools.js';
import { plan } from '../../src/planner/plan.js';
import { planHorizon } from '../../src/planner/horizon.js';
import type { CloudView, Decision, InstanceView as PlannedInstance, LaunchFailures, LaunchUnknown, PlannerSettings, QueueView, World } from '../../src/planner/types.js';
import type { InstanceEvent, InstanceInput, InstanceTimeouts } from '../instance/events.js';
import { instanceMachine, viewOf } from '../instance/instance.machine.js';
import { hasTag, type InstanceReport, type InstanceView, type ViewPhase } from '../instance/view.js';
import { adoptFactsOf, blindQueueEvents, busyAgents, factsOfAdopted, fleetEvents, indexFleet, isEnding, NO_FACTS, noticeEvents, queueEvents, type Facts } from './observe.js';

/**
 * The fleet's supervisor: adopts what the cloud shows on start, then on every observation
 * forwards each instance's changed facts to its actor, and on every tick asks the planner and
 * applies its decisions (spawn for launches, DRAIN / RENEW to chosen actors). Pure: time comes
 * in events, effects go out as the instance actors' emitted commands, and what it knows of
 * each instance is the view that instance reported (INSTANCE_VIEW), kept in `fleet` — it never
 * reads a child's snapshot, so `transition()` computes its every step.
 *
 * Modes: `adopting` (no planning until the fleet is known, so nothing is bought twice),
 * `running`, `degraded` (queue unknown: the planner holds, then drains to zero), `blind`
 * (the cloud's describe fails: no launches), `stopping` (no launches; idle agents drained) and
 * `stopped`.
 */
export interface SupervisorInput {
  now: number;
  /** Prefix of new instance keys; unique per daemon start (daemon id + start time). */
  keyPrefix: string;
  pools: PoolSpec[];
  planner: PlannerSettings;
  timeouts: InstanceTimeouts;
  goneGraceMs: number;
  /**
   * No launch until this long after start (the daemon passes the describe's consistency grace):
   * an instance a previous daemon launched just before stopping may not be listed yet. The
   * planner's settling rule holds the launches; the supervisor only tells it when.
   */
  settleMs?: number;
}

export type SupervisorEvent =
  | { type: 'FLEET'; snapshot: FleetSnapshot }
  | { type: 'FLEET_UNKNOWN'; at: number; error: string }
  /**
   * `repeated`: the queue was polled this many times more before, every `everyMs`, the last at
   * `lastAt`, and showed what it shows now (a replay on virtual time skipped those polls: they
   * would have changed nothing but the time the queue was watched, which is counted as they
   * would have).
   */
  | { type: 'QUEUE'; snapshot: QueueSnapshot; repeated?: { polls: number; everyMs: number; lastAt: number } }
  | { type: 'QUEUE_UNKNOWN'; at: number; error: string }
  /** The cloud's interruption queue said something about an instance (it may not be ours). */
  | { type: 'NOTICE'; at: number; notice: InstanceNotice }
  | { type: 'TICK'; now: number }
  | { type: 'RESULT'; key: string; event: InstanceEvent }
  | { type: 'STOP'; now: number }
  | InstanceReport
  | { type: `xstate.done.actor.${string}`; actorId: string };

/** One instance actor changed state: the lifecycle log line. */
export interface InstanceTransition {
  key: string;
  instance: string | null;
  pool: string;
  from: string;
  to: string;
  /** The phases behind `from` and `to` (null before the first). */
  fromPhase: ViewPhase | null;
  toPhase: ViewPhase;
  event: string;
  reason: string;
  forced: boolean;
}

export type SupervisorEmitted =
  | { type: 'spawned'; key: string; pool: string; adopted: boolean; note?: string }
  | ({ type: 'transition' } & InstanceTransition)
  | { type: 'released'; key: string; pool: string; instanceId: string | null; reason: string; forced: boolean }
  /** `first`: the first decision of a planning round (a round that decides nothing emits none). */
  | { type: 'decision'; now: number; decision: Decision; first: boolean }
  | { type: 'mode'; mode: SupervisorMode; event: string; reason: string };

export type SupervisorMode = 'adopting' | 'running' | 'degraded' | 'blind' | 'stopping' | 'stopped';

export interface SupervisorContext {
  input: SupervisorInput;
  seq: number;
  /** Every live instance actor by key, as it last reported itself. */
  fleet: Record<string, InstanceView>;
  /** What each actor has been told, to forward only changes. */
  facts: Record<string, Facts>;
  queue: QueueView;
  cloud: CloudView;
  /** Running totals for the status page and the simulator's report. */
  stats: { launched: number; adopted: number; released: number; forced: number };
  /** Per pool: launch failures in a row, for the planner's backoff. */
  launchFailures: Record<string, LaunchFailures>;
  /** Per pool, the last launch whose answer was lost, until a describe could have listed its instance. */
  launchesUnknown: Record<string, LaunchUnknown>;
  /** The holds of the last plan: why the fleet is not what the queue asks for. */
  holds: Extract<Decision, { kind: 'hold' }>[];
  /** Stages that arrived, per pool and hour, over the last four weeks: the idle rule's odds (hour of day), the warm pool's size (hour of week). */
  arrivals: ArrivalHistory;
  /** How long cold boots took lately (launch → agent running), a moving average; null until one is seen. */
  bootMs: number | null;
  /** The last describe's list, for what the cloud says each instance is (type, market): for people, not for the planner (selectors.describedOf). */
  described: readonly ObservedInstance[];
}

/**
 * The view a new actor starts with, computed as the actor itself will: it reports the same. An
 * actor never started runs no action but its context's assignments. (Not `initialTransition()`:
 * it first builds an inert actor without the input, whose context factory throws: an exception
 * per launch, and a busy week of replay took 14.5 s with it, 11.7 s without.)
 */
function initialView(input: InstanceInput): InstanceView {
  return viewOf(createActor(instanceMachine, { input }).getSnapshot().context);
}

/** Stages in `next` that were not in `prev`. */
function freshStages(prev: readonly Stage[], next: readonly Stage[]): Stage[] {
  const seen = new Set<string>();
  for (const s of prev) seen.add(s.id);
  return next.filter((s) => !seen.has(s.id));
}

/** Holds equal field for field: a planning round that holds as the last one did leaves the context as it is. */
function sameHolds(a: SupervisorContext['holds'], b: SupervisorContext['holds']): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.pool !== y.pool || x.code !== y.code || x.reason !== y.reason) return false;
  }
  return true;
}

/**
 * A stage list that told no instance anything, with the fleet and facts it was checked against:
 * the same three again tell nothing again (a pure memo of forwardQueue's outcome, not a record
 * of what was sent). A source that answers the same list while nothing changes, as the
 * simulator does, then costs nothing per poll however big the fleet.
 */
const quietQueues = new WeakMap<readonly Stage[], { fleet: Record<string, InstanceView>; facts: Record<string, Facts> }>();

/** The same for a describe's list that told no instance anything, adopted nothing and did not depend on the time. */
const quietFleets = new WeakMap<readonly ObservedInstance[], { fleet: Record<string, InstanceView>; facts: Record<string, Facts> }>();

/**
 * Per view: an observation of its instance that told it nothing, with the facts it was checked
 * against (a listed, live instance: the outcome depends on nothing else, not on the time). The
 * same again tells it nothing again: a describe lists every instance, and most have not changed.
 */
const quietObserved = new WeakMap<InstanceView, { obs: ObservedInstance; facts: Facts }>();

type Live = InstanceView & { phase: PlannedInstance['phase'] };
const liveOf = new WeakMap<Record<string, InstanceView>, readonly Live[]>();

/**
 * The live instances, as the planner sees them: one list per fleet object, which changes only
 * when an instance reports a change (most planning rounds follow a quiet poll).
 */
function liveInstances(fleet: Record<string, InstanceView>): readonly Live[] {
  let live = liveOf.get(fleet);
  if (!live) liveOf.set(fleet, (live = Object.values(fleet).filter(isLive)));
  return live;
}

interface Owned {
  /** The live instances with an id: their key and instance id (the view is the fleet's). */
  readonly listed: readonly (readonly [string, string])[];
  readonly ids: ReadonlySet<string>;
  /** Keys of launches still in flight: each owns whatever carries its key. */
  readonly launching: ReadonlySet<string>;
}
const ownedOf = new WeakMap<Record<string, InstanceView>, Owned>();

/** What the fleet owns, once per fleet object: every describe matches its list against it. */
function owned(fleet: Record<string, InstanceView>): Owned {
  let o = ownedOf.get(fleet);
  if (!o) {
    const listed: [string, string][] = [];
    const ids = new Set<string>();
    const launching = new Set<string>();
    for (const key in fleet) {
      const view = fleet[key]!;
      if (!isLive(view)) continue;
      if (view.instanceId) {
        listed.push([key, view.instanceId]);
        ids.add(view.instanceId);
      } else launching.add(key);
    }
    ownedOf.set(fleet, (o = { listed, ids, launching }));
  }
  return o;
}

const changingOf = new WeakMap<Record<string, InstanceView>, readonly string[]>();

/** The live instances with a deadline running, once per fleet object. */
function changingKeys(fleet: Record<string, InstanceView>): readonly string[] {
  let keys = changingOf.get(fleet);
  if (!keys) changingOf.set(fleet, (keys = Object.keys(fleet).filter((k) => isLive(fleet[k]!) && hasTag(fleet[k]!, 'changing'))));
  return keys;
}

/**
 * What is derived from a fleet object and does not depend on the view that changed (what the
 * fleet owns, which instances have a deadline) carries over to the fleet with the new view: an
 * instance's report changes one view, and scanning the whole fleet again after each costs more
 * than the report.
 */
function keepDerived(from: Record<string, InstanceView>, to: Record<string, InstanceView>, was: InstanceView, now: InstanceView): void {
  if (isLive(was) !== isLive(now)) return;
  const o = ownedOf.get(from);
  if (o && was.instanceId === now.instanceId) ownedOf.set(to, o);
  const c = changingOf.get(from);
  if (c && (!isLive(now) || hasTag(was, 'changing') === hasTag(now, 'changing'))) changingOf.set(to, c);
}

/** A lost launch a describe now shows is an instance like any other: it stops counting as unknown, and its pool may launch again once none is left. */
function seenLaunches(unknown: Record<string, LaunchUnknown>, adoptedKeys: readonly string[]): Record<string, LaunchUnknown> {
  let out: Record<string, LaunchUnknown> | null = null;
  for (const [pool, u] of Object.entries(unknown)) {
    const keys = u.keys.filter((k) => !adoptedKeys.includes(k));
    if (keys.length === u.keys.length) continue;
    out ??= { ...unknown };
    if (keys.length > 0) out[pool] = { ...u, keys };
    else delete out[pool];
  }
  return out ?? unknown;
}

/**
 * A describe taken at or after a loss's `until` (the consistency grace after the launch's answer
 * was lost) has answered without listing its instances: they were never made. Only a describe
 * ends the loss, never the time alone: while the cloud cannot be seen, the instance may be there.
 */
function settledLaunches(unknown: Record<string, LaunchUnknown>, describedAt: number): Record<string, LaunchUnknown> {
  let out: Record<string, LaunchUnknown> | null = null;
  for (const [pool, u] of Object.entries(unknown)) {
    if (describedAt < u.until) continue;
    out ??= { ...unknown };
    delete out[pool];
  }
  return out ?? unknown;
}

const isLive = (v: InstanceView): v is Live => v.phase !== 'terminated';

/** `record` without `key`, copied (a rest pattern with a computed key is several times slower on a record this size). */
function without<T>(record: Record<string, T>, key: string): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k in record) if (k !== key) out[k] = record[k]!;
  return out;
}

/** Whether a context update has anything in it: each assign copies the context and the snapshot. */
const changes = (update: Partial<SupervisorContext>): boolean => Object.keys(update).length > 0;

/**
 * What `f` says for each live instance with an id: the events to send it, and its facts. The
 * facts are copied only when one changed: most observations change none, and an assign copies
 * the context.
 */
function eachInstance(
  context: SupervisorContext,
  f: (view: Live, prev: Facts, instanceId: string) => { events: InstanceEvent[]; facts: Facts },
): { sends: [string, InstanceEvent][] | null; facts: Record<string, Facts> | null } {
  let sends: [string, InstanceEvent][] | null = null;
  let facts: Record<string, Facts> | null = null;
  for (const [key, id] of owned(context.fleet).listed) {
    const view = context.fleet[key] as Live;
    const prev = context.facts[key] ?? NO_FACTS;
    const r = f(view, prev, id);
    if (r.facts !== prev) (facts ??= { ...context.facts })[key] = r.facts;
    for (const e of r.events) (sends ??= []).push([key, e]);
  }
  return { sends, facts };
}


/** The planner's world: what the supervisor knows, at `now`. */
function worldOf(context: SupervisorContext, now: number, mode: 'running' | 'stopping'): World {
  const settleMs = context.input.settleMs ?? 0;
  return {
    now,
    mode,
    queue: context.queue,
    instances: liveInstances(context.fleet),
    launchFailures: context.launchFailures,
    launchesUnknown: context.launchesUnknown,
    cloud: context.cloud,
    settling: { until: context.input.now + settleMs, graceMs: settleMs },
    arrivals: context.arrivals,
    ...(context.bootMs !== null ? { bootSeconds: context.bootMs / 1000 } : {}),
  };
}

const planSettings = (context: SupervisorContext) => ({ pools: context.input.pools, planner: context.input.planner });

/** The planner's decisions on what the supervisor knows, at `now`. */
function planNow(context: SupervisorContext, now: number, mode: 'running' | 'stopping'): Decision[] {
  return plan(worldOf(context, now, mode), planSettings(context));
}

/**
 * Per fleet object: until when it is steady (see steadyUntil) with these stages, launch
 * failures, lost launches and holds, as found at `at`; -Infinity if not at all. A bound the
 * planner set by the time (a renewal falling due, the odds at the next hour) is asked again
 * once passed; nothing else it depends on changes back.
 */
const steadyOf = new WeakMap<Record<string, InstanceView>, { stages: readonly Stage[]; failures: SupervisorContext['launchFailures']; unknown: SupervisorContext['launchesUnknown']; holds: SupervisorContext['holds']; at: number; steady: Steady }>();

/** Steady until `until` (exclusive); `timed`: a bound the planner set by the time, to ask again once it has passed (at a later instant). */
interface Steady {
  until: number;
  timed: boolean;
}

/**
 * Until when (exclusive) observations that repeat the last ones, and ticks, change nothing but
 * the time the queue was watched (and the queue snapshot's time, and the numbers in the holds'
 * reasons); -Infinity when they may change something now. Steady: running with the queue and the
 * cloud known; every instance running a build, idle, parked, or in a cold boot or an ending (the
 * `awaits-cloud` tag: its deadline bounds it, a tick before it changes nothing); the planner,
 * asked now, decides nothing but the holds already in force, and says until when its plan stays
 * so while the queue and the fleet stay as they are (planHorizon, src/planner/horizon.ts). Busy,
 * idle and parked instances have no deadline and no drain in progress. A replay on virtual time
 * skips such polls and ticks (src/sim/simulate.ts).
 */
export function steadyUntil(context: SupervisorContext, mode: SupervisorMode, now: number): number {
  if (mode !== 'running' || !context.queue.known || !context.cloud.known) return -Infinity;
  const stages = context.queue.stages;
  let memo = steadyOf.get(context.fleet);
  if (!memo || memo.stages !== stages || memo.failures !== context.launchFailures || memo.unknown !== context.launchesUnknown || memo.holds !== context.holds || (memo.steady.timed && now >= memo.steady.until && now > memo.at)) {
    memo = { stages, failures: context.launchFailures, unknown: context.launchesUnknown, holds: context.holds, at: now, steady: steadyFleet(context, now) };
    steadyOf.set(context.fleet, memo);
  }
  return now < memo.steady.until ? memo.steady.until : -Infinity;
}

const UNSTEADY: Steady = { until: -Infinity, timed: false };

function steadyFleet(context: SupervisorContext, now: number): Steady {
  let until = Infinity;
  for (const k in context.fleet) {
    const v = context.fleet[k]!;
    if (v.phase === 'busy' || v.phase === 'idle' || v.phase === 'parked') continue;
    if (!hasTag(v, 'awaits-cloud') || v.deadline === null) return UNSTEADY;
    until = Math.min(until, v.deadline);
  }
  const world = worldOf(context, now, 'running');
  const settings = planSettings(context);
  const horizon = planHorizon(world, settings);
  if (horizon === -Infinity || !holdsInForce(plan(world, settings), context.holds)) return UNSTEADY;
  // A bound the time reached at this very instant (an age limit passed only just after it): unsteady now, asked again later.
  return horizon <= now ? { until: -Infinity, timed: true } : { until: Math.min(until, horizon), timed: horizon < Infinity };
}

/** The plan decides nothing but the holds the last one left in force (the same pools and codes, in order): it logs nothing new. */
function holdsInForce(decisions: readonly Decision[], holds: SupervisorContext['holds']): boolean {
  if (decisions.length !== holds.length) return false;
  for (let i = 0; i < decisions.length; i++) {
    const d = decisions[i]!;
    if (d.kind !== 'hold' || d.pool !== holds[i]!.pool || d.code !== holds[i]!.code) return false;
  }
  return true;
}

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as SupervisorInput,
    emitted: {} as SupervisorEmitted,
  },
  actors: { instance: instanceMachine },
  guards: {
    noChildren: ({ context }) => Object.keys(context.fleet).length === 0,
    queueKnown: ({ context }) => context.queue.known,
  },
  actions: {
    announce: emit(({ event }, p: { mode: SupervisorMode }) => ({
      type: 'mode' as const,
      mode: p.mode,
      event: event.type,
      reason: event.type === 'QUEUE_UNKNOWN' || event.type === 'FLEET_UNKNOWN' ? event.error : '',
    })),
    rememberQueue: assign(({ context, event }) => {
      if (event.type !== 'QUEUE') return {};
      const queue = { known: true as const, at: event.snapshot.at, stages: event.snapshot.stages };
      // Arrivals are stages not in the last snapshot; after blindness nothing is counted, as
      // what arrived while blind cannot be told from what waited.
      const prev = context.queue;
      if (!prev.known) return { queue };
      const fresh = event.snapshot.stages === prev.stages ? [] : freshStages(prev.stages, event.snapshot.stages);
      const byPool: Record<string, number> = {};
      for (const [pool, list] of matchPools(fresh, context.input.pools).byPool) byPool[pool] = list.length;
      let arrivals = context.arrivals;
      let from = prev.at;
      const r = event.repeated;
      // Each skipped poll watched from the one before it, as it would have.
      if (r) {
        for (let n = r.polls - 1; n >= 0; n--) {
          const to = r.lastAt - n * r.everyMs;
          arrivals = recordArrivals(arrivals, from, to, {});
          from = to;
        }
      }
      return { queue, arrivals: recordArrivals(arrivals, from, event.snapshot.at, byPool) };
    }),
    forgetQueue: assign(({ context, event }) => {
      if (event.type !== 'QUEUE_UNKNOWN') return {};
      // Blindness is measured from the first failed poll, not the latest.
      const since = context.queue.known ? event.at : context.queue.since;
      return { queue: { known: false as const, since, error: event.error } };
    }),
    // Known already on almost every describe: no assign then (each copies the snapshot).
    rememberCloud: enqueueActions(({ context, enqueue }) => {
      if (!context.cloud.known) enqueue.assign({ cloud: { known: true as const } });
    }),
    forgetCloud: assign(({ context, event }) => {
      if (event.type !== 'FLEET_UNKNOWN') return {};
      const since = context.cloud.known ? event.at : context.cloud.since;
      return { cloud: { known: false as const, since, error: event.error } };
    }),

    /** An instance told us what it is now; the log hears of a change of state. */
    takeView: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'INSTANCE_VIEW') return;
      const v = event.view;
      const prev = context.fleet[v.key];
      if (!prev) return; // already released
      // A cold boot's length, launch to agent running (a start from parked is not one).
      const fleet = { ...context.fleet, [v.key]: v };
      keepDerived(context.fleet, fleet, prev, v);
      const update: Partial<SupervisorContext> = { fleet };
      if ((prev.phase === 'requested' || prev.phase === 'booting') && !prev.warmStart && (v.phase === 'idle' || v.phase === 'busy') && v.launchedAt !== null) {
        const sample = v.since - v.launchedAt;
        update.bootMs = context.bootMs === null ? sample : 0.8 * context.bootMs + 0.2 * sample;
      }
      if (prev.state !== v.state) {
        enqueue.emit({ type: 'transition', key: v.key, instance: v.instanceId, pool: v.pool, from: prev.state, to: v.state, fromPhase: prev.phase, toPhase: v.phase, event: event.event, reason: v.reason, forced: v.forced });
      }
      enqueue.assign(update);
    }),

    /** Forward BUSY/IDLE changes from a queue snapshot. */
    forwardQueue: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'QUEUE') return;
      const stages = event.snapshot.stages;
      const quiet = quietQueues.get(stages);
      if (quiet && quiet.fleet === context.fleet && quiet.facts === context.facts) return;
      const busy = busyAgents(stages);
      const r = eachInstance(context, (view, prev, id) => queueEvents(view, prev, busy.has(id), event.snapshot.at));
      for (const [key, e] of r.sends ?? []) enqueue.sendTo(key, e);
      if (r.facts) enqueue.assign({ facts: r.facts });
      else if (!r.sends) quietQueues.set(stages, { fleet: context.fleet, facts: context.facts });
    }),

    /** The queue cannot be read: tell each agent whose drain has not taken effect that a build may run on it. */
    forwardBlindQueue: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'QUEUE_UNKNOWN') return;
      const r = eachInstance(context, (view, prev) => blindQueueEvents(view, prev, event.at));
      for (const [key, e] of r.sends ?? []) enqueue.sendTo(key, e);
      if (r.facts) enqueue.assign({ facts: r.facts });
    }),

    /** Forward fleet facts; adopt tagged instances no actor owns; forget the lost launches the describe proves were never made. */
    forwardFleet: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'FLEET') return;
      // One assign for all this describe changes: each copies the context and the snapshot.
      const update: Partial<SupervisorContext> = {};
      if (event.snapshot.instances !== context.described) update.described = event.snapshot.instances;
      // The lost launches this describe proves were never made are forgotten (one it lists is adopted below).
      const unknown = settledLaunches(context.launchesUnknown, event.snapshot.at);
      if (unknown !== context.launchesUnknown) update.launchesUnknown = unknown;
      const quiet = quietFleets.get(event.snapshot.instances);
      if (quiet && quiet.fleet === context.fleet && quiet.facts === context.facts) {
        if (changes(update)) enqueue.assign(update);
        return;
      }
      const at = event.snapshot.at;
      const { byId, live } = indexFleet(event.snapshot);
      // An instance not listed hears it is gone once it was launched long enough ago: the
      // outcome then depends on the time, and is not kept.
      let timely = false;
      // Copied only when something changed: most describes change nothing.
      let facts: Record<string, Facts> | null = null;
      let fleet: Record<string, InstanceView> | null = null;
      let told = false;
      // A launch still in flight owns whatever carries its key: its answer says which twin.
      const mine = owned(context.fleet);
      let adoptedIds: Set<string> | null = null;
      // Listed instances not ending that are ours: when they are all the list has, it adopts nothing.
      let ours = 0;
      for (const [key, id] of mine.listed) {
        const view = context.fleet[key] as Live;
        const prev = context.facts[key];
        const obs = byId.get(id);
        timely ||= obs === undefined;
        // Listed and not ending: the outcome depends on the view, the facts and the observation only.
        const listedLive = obs !== undefined && !isEnding(obs);
        if (listedLive) {
          ours++;
          const heard = quietObserved.get(view);
          if (heard !== undefined && heard.obs === obs && heard.facts === prev) continue;
        }
        const r = fleetEvents(view, prev ?? NO_FACTS, obs, at, context.input.goneGraceMs);
        if (r.facts !== prev) (facts ??= { ...context.facts })[key] = r.facts;
        for (const e of r.events) enqueue.sendTo(key, e);
        told ||= r.events.length > 0;
        if (listedLive && r.events.length === 0 && r.facts === prev && prev !== undefined) quietObserved.set(view, { obs, facts: prev });
      }
      const queue = context.queue;
      let adopted = 0;
      const adoptedKeys: string[] = [];
      // (An instance id names one actor, so each counted one is a different instance of the list.)
      const adoptable = ours < live.length || mine.ids.size !== mine.listed.length ? live : [];
      for (const obs of adoptable) {
        if (mine.ids.has(obs.instanceId) || mine.launching.has(obs.key) || adoptedIds?.has(obs.instanceId)) continue;
        const busy = queue.known && busyAgents(queue.stages).has(obs.instanceId);
        const adopt = adoptFactsOf(obs, busy);
        if (!adopt) continue;
        // Two live instances may carry one key (a RunInstances retried after a lost answer):
        // each is an instance we pay for, so each gets an actor, under an identity of its own.
        const twin = Boolean(obs.key) && (fleet ?? context.fleet)[obs.key] !== undefined;
        const key = obs.key && !twin ? obs.key : `adopted-${obs.instanceId}`;
        if ((fleet ?? context.fleet)[key]) continue; // cannot happen: an instance id names one actor
        const input: InstanceInput = { key, pool: obs.pool, now: at, timeouts: context.input.timeouts, adopt };
        const view = initialView(input);
        const note = twin ? `instance ${obs.instanceId} carries key ${obs.key}, which another instance already has: adopted as ${key}` : undefined;
        // Announced first: emitted events and child starts are both deferred, in order, so
        // the runtime can listen to the child before its first command.
        enqueue.emit({ type: 'spawned', key, pool: obs.pool, adopted: true, ...(note ? { note } : {}) });
        enqueue.emit({ type: 'transition', key, instance: view.instanceId, pool: view.pool, from: '(new)', to: view.state, fromPhase: null, toPhase: view.phase, event: 'xstate.init', reason: view.reason, forced: false });
        enqueue.spawnChild('instance', { id: key, systemId: `instance.${key}`, input });
        (fleet ??= { ...context.fleet })[key] = view;
        (adoptedIds ??= new Set()).add(obs.instanceId);
        (facts ??= { ...context.facts })[key] = factsOfAdopted(obs, busy);
        adopted++;
        if (obs.key) adoptedKeys.push(obs.key);
      }
      if (facts) update.facts = facts;
      if (fleet) {
        update.fleet = fleet;
        update.stats = { ...context.stats, adopted: context.stats.adopted + adopted };
      }
      if (adoptedKeys.length > 0) {
        const seen = seenLaunches(unknown, adoptedKeys);
        if (seen !== unknown) update.launchesUnknown = seen;
      }
      if (changes(update)) enqueue.assign(update);
      if (!facts && !fleet && !told && !timely) quietFleets.set(event.snapshot.instances, { fleet: context.fleet, facts: context.facts });
    }),

    /** A notice goes to the actor of its instance, if one is ours; others are not our business. */
    forwardNotice: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'NOTICE') return;
      const entry = Object.entries(context.fleet).find(([, v]) => v.instanceId === event.notice.instanceId && isLive(v));
      if (!entry) return;
      const [key, view] = entry;
      const r = noticeEvents(view, context.facts[key] ?? NO_FACTS, event.notice, event.at);
      for (const e of r.events) enqueue.sendTo(key, e);
      if (r.facts !== context.facts[key]) enqueue.assign({ facts: { ...context.facts, [key]: r.facts } });
    }),

    /** Interpreter results go to the actor they concern. */
    forwardResult: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'RESULT') return;
      const view = context.fleet[event.key];
      if (!view) return;
      const pool = view.pool;
      if (event.event.type === 'LAUNCHED') {
        if (context.launchFailures[pool]) {
          const { [pool]: _cleared, ...launchFailures } = context.launchFailures;
          enqueue.assign({ launchFailures });
        }
      } else if (event.event.type === 'LAUNCH_FAILED') {
        const count = (context.launchFailures[pool]?.count ?? 0) + 1;
        const update: Partial<SupervisorContext> = { launchFailures: { ...context.launchFailures, [pool]: { count, lastAt: event.event.now, reason: event.event.reason, ...(event.event.code === 'CLOUD_THROTTLED' ? { throttled: true } : {}) } } };
        // No answer is not a no: the instance may exist, and a describe may omit it for a while.
        if (event.event.code === 'CLOUD_TIMEOUT' || event.event.code === 'CLOUD_UNAVAILABLE') {
          const keys = [...(context.launchesUnknown[pool]?.keys ?? []).filter((k) => k !== event.key), event.key];
          update.launchesUnknown = { ...context.launchesUnknown, [pool]: { until: event.event.now + context.input.goneGraceMs, reason: event.event.reason, keys } };
        }
        enqueue.assign(update);
      }
      enqueue.sendTo(event.key, event.event);
    }),

    /** Deadlines are checked on ticks: an actor hears one once its deadline has come (see InstanceView.deadline). */
    forwardTick: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'TICK' && event.type !== 'STOP') return;
      for (const key of changingKeys(context.fleet)) {
        const due = context.fleet[key]!.deadline;
        if (due === null || due <= event.now) enqueue.sendTo(key, { type: 'TICK', now: event.now });
      }
    }),

    planAndApply: enqueueActions(({ context, event, enqueue }, p: { mode: 'running' | 'stopping' }) => {
      if (event.type !== 'TICK' && event.type !== 'STOP') return;
      const now = event.now;
      const decisions = planNow(context, now, p.mode);
      let seq = context.seq;
      let launched = 0;
      // Copied only for a launch: most rounds launch nothing, and the fleet may be large.
      let fleet: Record<string, InstanceView> | null = null;
      const holds: SupervisorContext['holds'] = [];
      for (const d of decisions) {
        enqueue.emit({ type: 'decision', now, decision: d, first: d === decisions[0] });
        if (d.kind === 'launch') {
          for (let n = 0; n < d.count; n++) {
            const key = `${context.input.keyPrefix}-${++seq}`;
            const input: InstanceInput = { key, pool: d.pool, now, timeouts: context.input.timeouts, ...(d.purpose ? { purpose: d.purpose } : {}) };
            const view = initialView(input);
            enqueue.emit({ type: 'spawned', key, pool: d.pool, adopted: false });
            enqueue.emit({ type: 'transition', key, instance: null, pool: d.pool, from: '(new)', to: view.state, fromPhase: null, toPhase: view.phase, event: 'xstate.init', reason: view.reason, forced: false });
            enqueue.spawnChild('instance', { id: key, systemId: `instance.${key}`, input });
            (fleet ??= { ...context.fleet })[key] = view;
            launched++;
          }
        } else if (d.kind === 'drain') {
          if (context.fleet[d.key]) enqueue.sendTo(d.key, { type: 'DRAIN', now, reason: d.reason, ...(d.then ? { then: d.then } : {}) });
        } else if (d.kind === 'activate') {
          if (context.fleet[d.key]) enqueue.sendTo(d.key, { type: 'ACTIVATE', now, reason: d.reason });
        } else if (d.kind === 'evict') {
          if (context.fleet[d.key]) enqueue.sendTo(d.key, { type: 'EVICT', now, reason: d.reason });
        } else if (d.kind === 'renew') {
          if (context.fleet[d.key]) enqueue.sendTo(d.key, { type: 'RENEW', now, until: d.until, reason: d.reason });
        } else holds.push(d);
      }
      const update: Partial<SupervisorContext> = {};
      if (!sameHolds(holds, context.holds)) update.holds = holds;
      if (fleet) Object.assign(update, { seq, fleet, stats: { ...context.stats, launched: context.stats.launched + launched } });
      if (changes(update)) enqueue.assign(update);
    }),

    /** A terminated actor is removed; what it was told is forgotten. */
    release: enqueueActions(({ context, event, enqueue }) => {
      if (!('actorId' in event)) return;
      const key = event.actorId;
      const v = context.fleet[key];
      if (!v) return;
      const fleet = without(context.fleet, key);
      const facts = without(context.facts, key);
      enqueue.emit({ type: 'released', key, pool: v.pool, instanceId: v.instanceId, reason: v.reason, forced: v.forced });
      enqueue.stopChild(key);
      enqueue.assign({ fleet, facts, stats: { ...context.stats, released: context.stats.released + 1, forced: context.stats.forced + (v.forced ? 1 : 0) } });
    }),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({
    input,
    seq: 0,
    fleet: {},
    facts: {},
    queue: { known: false, since: input.now, error: 'not yet polled' },
    cloud: { known: true },
    stats: { launched: 0, adopted: 0, released: 0, forced: 0 },
    launchFailures: {},
    launchesUnknown: {},
    holds: [],
    arrivals: emptyHistory(),
    bootMs: null,
    described: [],
  }),
  on: {
    QUEUE: { actions: ['rememberQueue', 'forwardQueue'] },
    QUEUE_UNKNOWN: { actions: ['forgetQueue', 'forwardBlindQueue'] },
    FLEET_UNKNOWN: { actions: 'forgetCloud' },
    RESULT: { actions: 'forwardResult' },
    NOTICE: { actions: 'forwardNotice' },
    INSTANCE_VIEW: { actions: 'takeView' },
    'xstate.done.actor.*': { actions: 'release' },
    STOP: { target: '.stopping' },
  },
  initial: 'adopting',
  states: {
    // No planning until the first describe: what is already running must be counted first.
    adopting: {
      entry: { type: 'announce', params: { mode: 'adopting' } },
      on: {
        FLEET: { target: 'running', actions: ['rememberCloud', 'forwardFleet'] },
        TICK: { actions: 'forwardTick' },
      },
    },
    running: {
      entry: { type: 'announce', params: { mode: 'running' } },
      on: {
        FLEET: { actions: ['rememberCloud', 'forwardFleet'] },
        QUEUE_UNKNOWN: { target: 'degraded', actions: ['forgetQueue', 'forwardBlindQueue'] },
        FLEET_UNKNOWN: { target: 'blind', actions: 'forgetCloud' },
        TICK: { actions: ['forwardTick', { type: 'planAndApply', params: { mode: 'running' } }] },
      },
    },
    degraded: {
      entry: { type: 'announce', params: { mode: 'degraded' } },
      on: {
        FLEET: { actions: ['rememberCloud', 'forwardFleet'] },
        QUEUE: { target: 'running', actions: ['rememberQueue', 'forwardQueue'] },
        FLEET_UNKNOWN: { target: 'blind', actions: 'forgetCloud' },
        TICK: { actions: ['forwardTick', { type: 'planAndApply', params: { mode: 'running' } }] },
      },
    },
    // The cloud cannot be seen: nothing is bought until it can (the planner holds launches).
    blind: {
      entry: { type: 'announce', params: { mode: 'blind' } },
      on: {
        FLEET: [
          { guard: 'queueKnown', target: 'running', actions: ['rememberCloud', 'forwardFleet'] },
          { target: 'degraded', actions: ['rememberCloud', 'forwardFleet'] },
        ],
        TICK: { actions: ['forwardTick', { type: 'planAndApply', params: { mode: 'running' } }] },
      },
    },
    stopping: {
      entry: [{ type: 'announce', params: { mode: 'stopping' } }, 'forwardTick', { type: 'planAndApply', params: { mode: 'stopping' } }],
      on: {
        STOP: {},
        FLEET: { actions: ['rememberCloud', 'forwardFleet'] },
        TICK: [{ guard: 'noChildren', target: 'stopped' }, { actions: ['forwardTick', { type: 'planAndApply', params: { mode: 'stopping' } }] }],
      },
    },
    stopped: { type: 'final', entry: { type: 'announce', params: { mode: 'stopped' } } },
  },
});

export type SupervisorMachine = typeof supervisorMachine;
