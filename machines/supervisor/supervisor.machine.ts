import { assign, emit, enqueueActions, setup, type ActorRefFrom } from 'xstate';
import type { PoolConfig, PlannerConfig } from '../../src/config/config.js';
import type { FleetSnapshot } from '../../src/ports/cloud-provider.js';
import type { QueueSnapshot } from '../../src/ports/queue-source.js';
import { plan } from '../../src/planner/plan.js';
import type { Decision, InstanceView, LaunchFailures, QueueView } from '../../src/planner/types.js';
import type { InstanceEvent, InstanceTimeouts } from '../instance/events.js';
import { instanceMachine, isChanging } from '../instance/instance.machine.js';
import { adoptFactsOf, factsOfAdopted, fleetEvents, indexFleet, instanceView, NO_FACTS, queueEvents, type ChildView, type Facts } from './observe.js';

/**
 * The fleet's supervisor: adopts what the cloud shows on start, then on every observation
 * forwards each instance's changed facts to its actor, and on every tick asks the planner and
 * applies its decisions (spawn for launches, DRAIN / RENEW to chosen actors). Pure: time comes
 * in events, effects go out as the instance actors' emitted commands.
 *
 * Modes: `adopting` (no planning until the fleet is known, so nothing is bought twice),
 * `running`, `degraded` (queue unknown: the planner holds, then drains to zero),
 * `stopping` (no launches; idle agents drained) and `stopped`.
 */
export interface SupervisorInput {
  now: number;
  /** Prefix of new instance keys; unique per daemon start (daemon id + start time). */
  keyPrefix: string;
  pools: PoolConfig[];
  planner: PlannerConfig;
  timeouts: InstanceTimeouts;
  goneGraceMs: number;
  /**
   * No launch until this long after start (the daemon passes the describe's consistency grace):
   * an instance a previous daemon launched just before stopping may not be listed yet.
   */
  settleMs?: number;
}

export type SupervisorEvent =
  | { type: 'FLEET'; snapshot: FleetSnapshot }
  | { type: 'FLEET_UNKNOWN'; at: number; error: string }
  | { type: 'QUEUE'; snapshot: QueueSnapshot }
  | { type: 'QUEUE_UNKNOWN'; at: number; error: string }
  | { type: 'TICK'; now: number }
  | { type: 'RESULT'; key: string; event: InstanceEvent }
  | { type: 'STOP'; now: number }
  | { type: `xstate.done.actor.${string}`; actorId: string };

export type SupervisorEmitted =
  | { type: 'spawned'; key: string; pool: string; adopted: boolean }
  | { type: 'released'; key: string; pool: string; instanceId: string | null; reason: string; forced: boolean }
  | { type: 'decision'; now: number; decision: Decision };

export interface SupervisorContext {
  input: SupervisorInput;
  seq: number;
  /** instance id → actor key, to route observations. */
  keys: Record<string, string>;
  /** What each actor has been told, to forward only changes. */
  facts: Record<string, Facts>;
  queue: QueueView;
  /** Running totals for the status page and the simulator's report. */
  stats: { launched: number; adopted: number; released: number; forced: number };
  /** Instance actors alive now. */
  live: number;
  /** Per pool: launch failures in a row, for the planner's backoff. */
  launchFailures: Record<string, LaunchFailures>;
}

type InstanceRef = ActorRefFrom<typeof instanceMachine>;

/**
 * Describe calls are eventually consistent: an instance launched less than a grace period ago
 * may be missing from them. An instance the previous daemon launched just before it stopped
 * can be missing from this daemon's first describes, so until `settleMs` has passed since
 * start a launch would risk buying it twice (past the pool's max and the budget).
 */
function settlingHold(d: Extract<Decision, { kind: 'launch' }>, now: number, input: SupervisorInput): Decision | null {
  const settleMs = input.settleMs ?? 0;
  const settledAt = input.now + settleMs;
  if (now >= settledAt) return null;
  return {
    kind: 'hold',
    pool: d.pool,
    code: 'fleet-settling',
    reason: `fleet not settled since start: a describe may still omit instances launched in the last ${Math.round(settleMs / 1000)} s; launch in ${Math.ceil((settledAt - now) / 1000)} s (${d.reason})`,
  };
}

function childrenOf(self: { getSnapshot(): { children: Record<string, unknown> } }): [string, InstanceRef][] {
  return Object.entries(self.getSnapshot().children) as [string, InstanceRef][];
}

function viewOf(ref: InstanceRef): ChildView | null {
  const s = ref.getSnapshot();
  return s.status === 'active' || s.status === 'done' ? { value: s.value, context: s.context } : null;
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
    noChildren: ({ context }) => context.live === 0,
  },
  actions: {
    rememberQueue: assign(({ event }) => (event.type === 'QUEUE' ? { queue: { known: true as const, at: event.snapshot.at, stages: event.snapshot.stages } } : {})),
    forgetQueue: assign(({ context, event }) => {
      if (event.type !== 'QUEUE_UNKNOWN') return {};
      // Blindness is measured from the first failed poll, not the latest.
      const since = context.queue.known ? event.at : context.queue.since;
      return { queue: { known: false as const, since, error: event.error } };
    }),

    /** Forward BUSY/IDLE changes from a queue snapshot. */
    forwardQueue: enqueueActions(({ context, event, self, enqueue }) => {
      if (event.type !== 'QUEUE') return;
      const busy = new Set<string>();
      for (const s of event.snapshot.stages) if (s.agent) busy.add(s.agent);
      const facts = { ...context.facts };
      for (const [key, ref] of childrenOf(self)) {
        const child = viewOf(ref);
        if (!child?.context.instanceId) continue;
        const r = queueEvents(child, facts[key] ?? NO_FACTS, busy.has(child.context.instanceId), event.snapshot.at);
        facts[key] = r.facts;
        for (const e of r.events) enqueue.sendTo(ref, e);
      }
      enqueue.assign({ facts });
    }),

    /** Forward fleet facts; adopt tagged instances no actor owns. */
    forwardFleet: enqueueActions(({ context, event, self, enqueue }) => {
      if (event.type !== 'FLEET') return;
      const at = event.snapshot.at;
      const { byKey, byId } = indexFleet(event.snapshot);
      const facts = { ...context.facts };
      const keys = { ...context.keys };
      const owned = new Set<string>();
      for (const [key, ref] of childrenOf(self)) {
        const child = viewOf(ref);
        if (!child) continue;
        const id = child.context.instanceId;
        const obs = id ? byId.get(id) : byKey.get(key);
        if (obs) owned.add(obs.instanceId);
        if (!id) continue; // launch in flight: its result carries the id
        const r = fleetEvents(child, facts[key] ?? NO_FACTS, obs, at, context.input.goneGraceMs);
        facts[key] = r.facts;
        for (const e of r.events) enqueue.sendTo(ref, e);
      }
      const busyAgents = context.queue.known ? new Set(context.queue.stages.flatMap((s) => (s.agent ? [s.agent] : []))) : new Set<string>();
      let adopted = 0;
      for (const obs of event.snapshot.instances) {
        if (owned.has(obs.instanceId) || keys[obs.instanceId]) continue;
        const busy = busyAgents.has(obs.instanceId);
        const adopt = adoptFactsOf(obs, busy);
        if (!adopt) continue;
        const key = obs.key && !self.getSnapshot().children[obs.key] ? obs.key : `adopted-${obs.instanceId}`;
        // Announced first: emitted events and child starts are both deferred, in order, so
        // the runtime can listen to the child before its first command.
        enqueue.emit({ type: 'spawned', key, pool: obs.pool, adopted: true });
        enqueue.spawnChild('instance', {
          id: key,
          systemId: `instance.${key}`,
          input: { key, pool: obs.pool, now: at, timeouts: context.input.timeouts, adopt },
        });
        keys[obs.instanceId] = key;
        facts[key] = factsOfAdopted(obs, busy);
        adopted++;
      }
      enqueue.assign({ facts, keys, live: context.live + adopted, stats: { ...context.stats, adopted: context.stats.adopted + adopted } });
    }),

    /** Interpreter results go to the actor they concern; a launch result also teaches us its id. */
    forwardResult: enqueueActions(({ context, event, self, enqueue }) => {
      if (event.type !== 'RESULT') return;
      const ref = self.getSnapshot().children[event.key] as InstanceRef | undefined;
      if (!ref) return;
      const pool = ref.getSnapshot().context.pool;
      if (event.event.type === 'LAUNCHED') {
        const { [pool]: _cleared, ...launchFailures } = context.launchFailures;
        enqueue.assign({ keys: { ...context.keys, [event.event.instanceId]: event.key }, launchFailures });
      } else if (event.event.type === 'LAUNCH_FAILED') {
        const count = (context.launchFailures[pool]?.count ?? 0) + 1;
        enqueue.assign({ launchFailures: { ...context.launchFailures, [pool]: { count, lastAt: event.event.now, reason: event.event.reason } } });
      }
      enqueue.sendTo(ref, event.event);
    }),

    /** Deadlines are checked on ticks; only actors with a deadline need them. */
    forwardTick: enqueueActions(({ event, self, enqueue }) => {
      if (event.type !== 'TICK' && event.type !== 'STOP') return;
      for (const [, ref] of childrenOf(self)) {
        const s = ref.getSnapshot();
        if (s.status !== 'active') continue;
        if (isChanging(s.value)) enqueue.sendTo(ref, { type: 'TICK', now: event.now });
      }
    }),

    planAndApply: enqueueActions(({ context, event, self, enqueue }, p: { mode: 'running' | 'stopping' }) => {
      if (event.type !== 'TICK' && event.type !== 'STOP') return;
      const now = event.now;
      const refs = new Map(childrenOf(self));
      const instances: InstanceView[] = [];
      for (const ref of refs.values()) {
        const c = viewOf(ref);
        const v = c && instanceView(c);
        if (v) instances.push(v);
      }
      const decisions = plan({ now, mode: p.mode, queue: context.queue, instances, launchFailures: context.launchFailures }, { pools: context.input.pools, planner: context.input.planner }).map((d) =>
        d.kind === 'launch' ? settlingHold(d, now, context.input) ?? d : d,
      );
      let seq = context.seq;
      let launched = 0;
      for (const d of decisions) {
        enqueue.emit({ type: 'decision', now, decision: d });
        if (d.kind === 'launch') {
          for (let n = 0; n < d.count; n++) {
            const key = `${context.input.keyPrefix}-${++seq}`;
            enqueue.emit({ type: 'spawned', key, pool: d.pool, adopted: false });
            enqueue.spawnChild('instance', { id: key, systemId: `instance.${key}`, input: { key, pool: d.pool, now, timeouts: context.input.timeouts } });
            launched++;
          }
        } else if (d.kind === 'drain') {
          const ref = refs.get(d.key);
          if (ref) enqueue.sendTo(ref, { type: 'DRAIN', now, reason: d.reason });
        } else if (d.kind === 'renew') {
          const ref = refs.get(d.key);
          if (ref) enqueue.sendTo(ref, { type: 'RENEW', now, until: d.until, reason: d.reason });
        }
      }
      if (launched > 0) enqueue.assign({ seq, live: context.live + launched, stats: { ...context.stats, launched: context.stats.launched + launched } });
    }),

    /** A terminated actor is removed; what it was told is forgotten. */
    release: enqueueActions(({ context, event, self, enqueue }) => {
      if (!('actorId' in event)) return;
      const ref = self.getSnapshot().children[event.actorId] as InstanceRef | undefined;
      const c = ref?.getSnapshot().context;
      const facts = { ...context.facts };
      delete facts[event.actorId];
      const keys = { ...context.keys };
      if (c?.instanceId) delete keys[c.instanceId];
      enqueue.emit({ type: 'released', key: event.actorId, pool: c?.pool ?? '?', instanceId: c?.instanceId ?? null, reason: c?.reason ?? '', forced: c?.forced ?? false });
      if (ref) enqueue.stopChild(ref);
      enqueue.assign({ facts, keys, live: context.live - 1, stats: { ...context.stats, released: context.stats.released + 1, forced: context.stats.forced + (c?.forced ? 1 : 0) } });
    }),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({
    input,
    seq: 0,
    keys: {},
    facts: {},
    queue: { known: false, since: input.now, error: 'not yet polled' },
    stats: { launched: 0, adopted: 0, released: 0, forced: 0 },
    live: 0,
    launchFailures: {},
  }),
  on: {
    QUEUE: { actions: ['rememberQueue', 'forwardQueue'] },
    QUEUE_UNKNOWN: { actions: 'forgetQueue' },
    RESULT: { actions: 'forwardResult' },
    'xstate.done.actor.*': { actions: 'release' },
    STOP: { target: '.stopping' },
  },
  initial: 'adopting',
  states: {
    // No planning until the first describe: what is already running must be counted first.
    adopting: {
      on: {
        FLEET: { target: 'running', actions: 'forwardFleet' },
        TICK: { actions: 'forwardTick' },
      },
    },
    running: {
      on: {
        FLEET: { actions: 'forwardFleet' },
        QUEUE_UNKNOWN: { target: 'degraded', actions: 'forgetQueue' },
        TICK: { actions: ['forwardTick', { type: 'planAndApply', params: { mode: 'running' } }] },
      },
    },
    degraded: {
      on: {
        FLEET: { actions: 'forwardFleet' },
        QUEUE: { target: 'running', actions: ['rememberQueue', 'forwardQueue'] },
        TICK: { actions: ['forwardTick', { type: 'planAndApply', params: { mode: 'running' } }] },
      },
    },
    stopping: {
      entry: ['forwardTick', { type: 'planAndApply', params: { mode: 'stopping' } }],
      on: {
        STOP: {},
        FLEET: { actions: 'forwardFleet' },
        TICK: [{ guard: 'noChildren', target: 'stopped' }, { actions: ['forwardTick', { type: 'planAndApply', params: { mode: 'stopping' } }] }],
      },
    },
    stopped: { type: 'final' },
  },
});

export type SupervisorMachine = typeof supervisorMachine;
