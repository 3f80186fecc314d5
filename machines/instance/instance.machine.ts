import { and, assign, emit, enqueueActions, setup } from 'xstate';
import type { AdoptPhase, InstanceCommand, InstanceEvent, InstanceInput, InstanceTimeouts } from './events.js';
import type { InstanceReport, InstanceTag, InstanceView, ViewPhase } from './view.js';

/**
 * One cloud instance running one CI agent: requested → booting → task-running → draining →
 * terminated. Pure: no invoke, no after, no clock. Deadlines live in context and are checked
 * when a TICK arrives; effects leave as emitted commands.
 *
 * The one rule that costs money to get wrong lives in a guard here too, not only in the
 * planner: a busy agent ignores DRAIN (only a forced interruption ends a running build).
 *
 * Each leaf state says what it means with tags (see view.ts), and on entering it — or when a
 * transition changes what others see — the instance reports its view to its parent, so the
 * supervisor keeps the fleet without reading children's snapshots.
 */
export interface InstanceContext {
  key: string;
  pool: string;
  instanceId: string | null;
  launchedAt: number | null;
  pricePerHour: number;
  /** The deadline of the current phase (launch, boot, drain, terminate retry), ms epoch. */
  deadline: number;
  busy: boolean;
  idleSince: number | null;
  /** Periodic billing: the planner has committed to keeping this instance until then. */
  paidUntil: number | null;
  /** When the drain took effect; an IDLE observed before it proves nothing. */
  drainAckAt: number | null;
  /** Why the last transition happened, for the lifecycle log. */
  reason: string;
  /** The instance was ended by something we did not choose (spot interruption, vanished). */
  forced: boolean;
  timeouts: InstanceTimeouts;
  adoptPhase: AdoptPhase | null;
  /** Launched to prime the warm pool: it parks once registered instead of taking work. */
  purpose: 'work' | 'park';
  /** The drain under way ends in parking (warm pool), not in a terminate. */
  thenPark: boolean;
  /** Started from parked (a warm start) since it last parked: its boot is not a cold one. */
  warm: boolean;
  /** Parked, and no longer matching the launch settings: why (the planner evicts it). */
  drift: string | null;
  /** The leaf state's meaning, set on entry from the same literal as its tags. */
  at: Place;
}

interface Place {
  state: string;
  phase: ViewPhase;
  tags: readonly InstanceTag[];
  since: number;
}

/** A leaf state's tags and its entry actions (record where we are, then tell the parent). */
function place(state: string, phase: ViewPhase, ...tags: InstanceTag[]) {
  return {
    tags: [phase, ...tags],
    entry: [{ type: 'enter' as const, params: { state, phase, tags } }, 'report' as const],
  };
}
const LAUNCHING = place('requested.launching', 'requested', 'capacity', 'changing');
const BOOTING_INSTANCE = place('booting.instance', 'booting', 'capacity', 'changing', 'cancellable', 'registering', 'awaits-cloud');
const BOOTING_AGENT = place('booting.agent', 'booting', 'capacity', 'changing', 'awaits-cloud');
const BOOTING_AGENT_PENDING = place('booting.agentPending', 'booting', 'capacity', 'changing', 'awaits-cloud');
const IDLE = place('task-running.idle', 'idle', 'capacity');
const BUSY = place('task-running.busy', 'busy', 'capacity');
const DRAIN_STOPPING = place('draining.stopping', 'draining', 'changing', 'undrained');
const DRAIN_RETRYING = place('draining.retrying', 'draining', 'changing', 'undrained', 'retrying');
const DRAIN_WAITING = place('draining.waiting', 'draining', 'changing', 'drain-waiting');
const TERMINATING = place('draining.terminating', 'draining', 'changing', 'awaits-cloud');
const ABANDONING = place('draining.abandoning', 'draining', 'changing', 'undrained', 'awaits-cloud');
const TERMINATED = place('terminated', 'terminated');
const PRIMING_LAUNCH = place('priming.launching', 'priming', 'changing');
const PRIMING_BOOT = place('priming.booting', 'priming', 'changing', 'registering', 'awaits-cloud');
const PARKING = place('parked.parking', 'parking', 'changing', 'awaits-cloud');
const PARK_RETRYING = place('parked.retrying', 'parking', 'changing', 'retrying');
const PARKED = place('parked.ready', 'parked');
const UNPARKING = place('parked.starting', 'booting', 'capacity', 'changing', 'registering', 'awaits-cloud');

/** The instance as others see it. */
export function viewOf(c: InstanceContext): InstanceView {
  return {
    key: c.key,
    pool: c.pool,
    phase: c.at.phase,
    state: c.at.state,
    tags: c.at.tags,
    cancellable: c.at.tags.includes('cancellable'),
    instanceId: c.instanceId,
    launchedAt: c.launchedAt,
    idleSince: c.at.phase === 'idle' ? c.idleSince : null,
    paidUntil: c.paidUntil,
    pricePerHour: c.pricePerHour,
    reason: c.reason,
    forced: c.forced,
    drift: c.drift,
    since: c.at.since,
    deadline: tickDueFrom(c),
    warmStart: c.warm,
    thenPark: c.thenPark,
  };
}

/** From when a tick may change the instance (InstanceView.deadline): none without a deadline; at once while retrying. */
function tickDueFrom(c: InstanceContext): number | null {
  if (!c.at.tags.includes('changing') || c.deadline === Number.MAX_SAFE_INTEGER) return null;
  return c.at.tags.includes('retrying') ? c.at.since : c.deadline;
}

type E = InstanceEvent;

/**
 * The drain deadline passed before the drain took effect, with no build on the agent: end it.
 * Its agent may still take a build until the terminate lands, so it is abandoned rather than
 * terminated.
 */
const GIVE_UP_DRAIN = { guard: 'drainGivenUp', target: 'abandoning', actions: { type: 'because', params: { reason: 'drain deadline passed before the drain took effect' } } } as const;

/**
 * A state that ends the instance (`draining.terminating`, `draining.abandoning`): it issues the
 * terminate and, until the instance is gone, re-issues it by re-entering itself, so the instance
 * is never left running. Whatever the drain meant to do, it is not coming back to the warm pool.
 */
function ending<On extends object>(state: 'terminating' | 'abandoning', p: ReturnType<typeof place>, on: On) {
  return {
    tags: p.tags,
    entry: [{ type: 'startDeadline', params: { timeout: 'terminateRetryMs' } } as const, 'notParking' as const, ...p.entry, 'emitTerminate' as const],
    on: {
      ...on,
      TERMINATE_FAILED: { actions: ['becauseEvent', 'report'] },
      TICK: { guard: 'deadlinePassed', target: state, reenter: true, actions: { type: 'because', params: { reason: 'terminate not yet effective: retrying' } } },
    },
  } as const;
}
const withNow = (e: E | { type: string }): number | null => ('now' in e && typeof e.now === 'number' ? e.now : null);

export const instanceMachine = setup({
  types: {
    context: {} as InstanceContext,
    events: {} as InstanceEvent,
    input: {} as InstanceInput,
    emitted: {} as InstanceCommand,
    tags: {} as InstanceTag | ViewPhase,
  },
  guards: {
    deadlinePassed: ({ context, event }) => {
      const now = withNow(event);
      return now !== null && now >= context.deadline;
    },
    isBusy: ({ context }) => context.busy,
    /**
     * A drain that has not taken effect yet (the call keeps failing) leaves the agent taking
     * work: a build it took meanwhile is never ended by our deadline. Not even on an instance
     * the infrastructure is taking (forced): the cloud ends it if it must, and a rebalance
     * recommendation may never be followed by an interruption.
     */
    drainGivenUp: ({ context, event }) => {
      const now = withNow(event);
      return now !== null && now >= context.deadline && !context.busy;
    },
    adoptedAs: ({ context }, p: { phase: AdoptPhase }) => context.adoptPhase === p.phase,
    adoptedBusy: ({ context }) => context.adoptPhase === 'task-running' && context.busy,
    priming: ({ context }) => context.purpose === 'park',
    thenPark: ({ context }) => context.thenPark,
    /** An IDLE that was observed after the drain took effect: nothing can start on the agent any more. */
    idleAfterDrain: ({ context, event }) =>
      event.type === 'IDLE' && context.drainAckAt !== null && event.now >= context.drainAckAt,
    /** Seen stopped by a look taken after the drain took hold: an older look (a describe that lags) may predate the agent's start. */
    stoppedAfterDrain: ({ context, event }) => event.type === 'AGENT_STOPPED' && (context.drainAckAt === null /* adopted draining: drained before we came */ || event.now >= context.drainAckAt),
    idleThenPark: ({ context, event }) => context.thenPark && event.type === 'IDLE' && context.drainAckAt !== null && event.now >= context.drainAckAt,
  },
  actions: {
    emitLaunch: emit(({ context }) => ({ type: 'launch' as const, key: context.key, pool: context.pool, purpose: context.purpose })),
    emitPark: emit(({ context }) => ({ type: 'park' as const, key: context.key, pool: context.pool, instanceId: context.instanceId! })),
    emitUnpark: emit(({ context }) => ({ type: 'unpark' as const, key: context.key, pool: context.pool, instanceId: context.instanceId! })),
    drainThen: assign(({ event }) => ({ thenPark: event.type === 'DRAIN' && event.then === 'park' })),
    noDeadline: assign({ deadline: Number.MAX_SAFE_INTEGER }),
    parkingNow: assign({ thenPark: false, busy: false, warm: false }),
    notParking: assign({ thenPark: false }),
    warmStart: assign({ warm: true }),
    recordDrift: assign(({ event }) => (event.type === 'DRIFTED' ? { drift: event.reason } : {})),
    emitStartAgent: emit(({ context }) => ({ type: 'startAgent' as const, key: context.key, pool: context.pool, instanceId: context.instanceId! })),
    emitDrainAgent: emit(({ context }) => ({ type: 'drainAgent' as const, key: context.key, pool: context.pool, instanceId: context.instanceId! })),
    emitTerminate: emit(({ context }) => ({ type: 'terminate' as const, key: context.key, pool: context.pool, instanceId: context.instanceId! })),
    recordLaunch: assign(({ context, event }) => {
      if (event.type !== 'LAUNCHED') return {};
      return {
        instanceId: event.instanceId,
        launchedAt: event.launchedAt,
        pricePerHour: event.pricePerHour,
        deadline: event.launchedAt + context.timeouts.bootMs,
        reason: 'launched',
      };
    }),
    /** Start a phase deadline `timeout` from the event's time. */
    startDeadline: assign(({ context, event }, p: { timeout: keyof InstanceTimeouts }) => ({
      deadline: (withNow(event) ?? context.deadline) + context.timeouts[p.timeout],
    })),
    because: assign((_, p: { reason: string }) => ({ reason: p.reason })),
    becauseEvent: assign(({ event }) => ({ reason: 'reason' in event ? event.reason : event.type })),
    buildBeforeDrain: assign(({ event }) => ({
      reason: `${event.type === 'BUSY' && event.reason ? event.reason : 'a build started on the agent'} before its drain took effect: draining it again`,
    })),
    forcedBecause: assign((_, p: { reason: string }) => ({ reason: p.reason, forced: true })),
    /** The notice's own reason when it has one (rebalance, maintenance), else `p.reason`. */
    forcedByInfrastructure: assign(({ event }, p: { reason: string }) => ({ reason: event.type === 'SPOT_INTERRUPTION' && event.reason ? event.reason : p.reason, forced: true })),
    markBusy: assign({ busy: true, idleSince: null }),
    markIdle: assign(({ event, context }) => ({ busy: false, idleSince: withNow(event) ?? context.idleSince })),
    ackDrain: assign(({ event }) => ({ drainAckAt: withNow(event) })),
    renew: assign(({ event }) => (event.type === 'RENEW' ? { paidUntil: event.until, reason: event.reason } : {})),
    enter: assign(({ context, event }, p: { state: string; phase: ViewPhase; tags: readonly InstanceTag[] }) => ({
      at: { state: p.state, phase: p.phase, tags: p.tags, since: withNow(event) ?? context.at.since },
    })),
    /** Tell the supervisor what changed; an actor with no parent (a unit test) tells no one. */
    report: enqueueActions(({ context, event, self, enqueue }) => {
      if (!self._parent) return;
      const report: InstanceReport = { type: 'INSTANCE_VIEW', view: viewOf(context), event: event.type };
      enqueue.sendParent(report);
    }),
  },
}).createMachine({
  id: 'instance',
  context: ({ input }) => {
    const a = input.adopt;
    const t = input.timeouts;
    const deadline = !a
      ? input.now + t.launchMs
      : a.phase === 'draining'
        ? input.now + t.drainMs
        : a.phase === 'terminating' || a.phase === 'parking'
          ? input.now + t.terminateRetryMs
          : a.phase === 'parked'
            ? Number.MAX_SAFE_INTEGER
            : a.phase === 'registered' || a.phase === 'agent-pending'
              ? // Its agent starts (or is seen) only now, and may take a build at once, before
                // this daemon's first poll says so: a boot deadline already past would drain it.
                Math.max(a.launchedAt, input.now) + t.bootMs
              : a.launchedAt + t.bootMs;
    return {
      key: input.key,
      pool: input.pool,
      instanceId: a?.instanceId ?? null,
      launchedAt: a?.launchedAt ?? null,
      pricePerHour: a?.pricePerHour ?? 0,
      deadline,
      busy: a?.busy ?? false,
      idleSince: a && !a.busy ? input.now : null,
      paidUntil: null,
      drainAckAt: null,
      reason: a ? `adopted in phase ${a.phase}` : 'planner asked for capacity',
      forced: false,
      timeouts: t,
      adoptPhase: a?.phase ?? null,
      purpose: input.purpose ?? 'work',
      thenPark: false,
      warm: false,
      drift: null,
      at: { state: '(new)', phase: 'requested', tags: [], since: input.now },
    };
  },
  initial: 'requested',
  states: {
    requested: {
      initial: 'routing',
      states: {
        // Adopted instances enter where the cloud says they are; new ones launch.
        routing: {
          always: [
            { guard: { type: 'adoptedAs', params: { phase: 'booting' } }, target: '#instance.booting.instance' },
            { guard: { type: 'adoptedAs', params: { phase: 'registered' } }, target: '#instance.booting.agent' },
            { guard: { type: 'adoptedAs', params: { phase: 'agent-pending' } }, target: '#instance.booting.agentPending' },
            { guard: 'adoptedBusy', target: '#instance.task-running.busy' },
            { guard: { type: 'adoptedAs', params: { phase: 'task-running' } }, target: '#instance.task-running.idle' },
            { guard: { type: 'adoptedAs', params: { phase: 'draining' } }, target: '#instance.draining.waiting' },
            { guard: { type: 'adoptedAs', params: { phase: 'terminating' } }, target: '#instance.draining.terminating' },
            { guard: { type: 'adoptedAs', params: { phase: 'priming' } }, target: '#instance.priming.booting' },
            { guard: { type: 'adoptedAs', params: { phase: 'parking' } }, target: '#instance.parked.parking' },
            { guard: { type: 'adoptedAs', params: { phase: 'parked' } }, target: '#instance.parked.ready' },
            { guard: 'priming', target: '#instance.priming.launching' },
            { target: 'launching' },
          ],
        },
        launching: {
          tags: LAUNCHING.tags,
          entry: [...LAUNCHING.entry, 'emitLaunch'],
          on: {
            LAUNCHED: { target: '#instance.booting', actions: 'recordLaunch' },
            LAUNCH_FAILED: { target: '#instance.terminated', actions: 'becauseEvent' },
            // A launch call that never answered: whatever it may have created carries our tags
            // and is adopted (and ended) from the next describe.
            TICK: { guard: 'deadlinePassed', target: '#instance.terminated', actions: { type: 'because', params: { reason: 'launch deadline passed' } } },
          },
        },
      },
    },
    booting: {
      initial: 'instance',
      on: {
        INSTANCE_GONE: { target: 'terminated', actions: { type: 'forcedBecause', params: { reason: 'instance vanished while booting' } } },
        SPOT_INTERRUPTION: { target: 'draining', actions: [{ type: 'forcedByInfrastructure', params: { reason: 'forced: spot interruption while booting' } }, { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
        TICK: { guard: 'deadlinePassed', target: 'draining', actions: [{ type: 'because', params: { reason: 'boot deadline passed' } }, { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
        BUSY: { actions: 'markBusy' },
        IDLE: { actions: 'markIdle' },
      },
      states: {
        instance: {
          ...BOOTING_INSTANCE,
          on: {
            REGISTERED: { target: 'agent', actions: { type: 'because', params: { reason: 'container instance registered' } } },
            // Nothing can run here yet, so the planner may cancel a boot it no longer needs.
            DRAIN: { target: '#instance.draining', actions: ['becauseEvent', { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
          },
        },
        agent: {
          tags: BOOTING_AGENT.tags,
          entry: [...BOOTING_AGENT.entry, 'emitStartAgent'],
          on: {
            AGENT_RUNNING: { target: '#instance.task-running', actions: { type: 'because', params: { reason: 'agent running' } } },
            AGENT_START_FAILED: { target: '#instance.draining', actions: ['becauseEvent', { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
            AGENT_STOPPED: { target: '#instance.draining', actions: [{ type: 'because', params: { reason: 'agent stopped while starting' } }, { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
          },
        },
        // Adopted with its agent already starting: do not start a second one.
        agentPending: {
          ...BOOTING_AGENT_PENDING,
          on: {
            AGENT_RUNNING: { target: '#instance.task-running', actions: { type: 'because', params: { reason: 'agent running' } } },
            AGENT_STOPPED: { target: '#instance.draining', actions: [{ type: 'because', params: { reason: 'agent stopped while starting' } }, { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
          },
        },
      },
    },
    'task-running': {
      initial: 'entered',
      on: {
        AGENT_STOPPED: { target: 'draining', actions: [{ type: 'forcedBecause', params: { reason: 'agent stopped' } }, { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
        INSTANCE_GONE: { target: 'terminated', actions: { type: 'forcedBecause', params: { reason: 'instance vanished while running' } } },
        SPOT_INTERRUPTION: { target: 'draining', actions: [{ type: 'forcedByInfrastructure', params: { reason: 'forced: spot interruption' } }, { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
        RENEW: { actions: ['renew', 'report'] },
      },
      states: {
        // The queue may have shown the agent busy before the cloud showed it running.
        entered: { always: [{ guard: 'isBusy', target: 'busy', actions: { type: 'because', params: { reason: 'agent running, a stage already runs on it' } } }, { target: 'idle' }] },
        idle: {
          tags: IDLE.tags,
          entry: ['markIdle', ...IDLE.entry],
          on: {
            BUSY: { target: 'busy', actions: { type: 'because', params: { reason: 'a stage runs on the agent' } } },
            DRAIN: { target: '#instance.draining', actions: ['becauseEvent', 'drainThen', { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
          },
        },
        // DRAIN is deliberately not handled here: a planner bug cannot stop a running build.
        busy: {
          tags: BUSY.tags,
          entry: ['markBusy', ...BUSY.entry],
          on: { IDLE: { target: 'idle', actions: { type: 'because', params: { reason: 'nothing runs on the agent' } } } },
        },
      },
    },
    draining: {
      initial: 'stopping',
      on: {
        INSTANCE_GONE: { target: 'terminated', actions: { type: 'because', params: { reason: 'instance gone' } } },
        BUSY: { actions: 'markBusy' },
        IDLE: { actions: 'markIdle' },
      },
      states: {
        stopping: {
          tags: DRAIN_STOPPING.tags,
          entry: [...DRAIN_STOPPING.entry, 'emitDrainAgent'],
          on: {
            // The builds on the agent get the whole drain deadline from when it stopped taking work.
            DRAIN_STARTED: { target: 'waiting', actions: ['ackDrain', { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
            DRAIN_FAILED: { target: 'retrying', actions: 'becauseEvent' },
            TICK: GIVE_UP_DRAIN,
          },
        },
        retrying: {
          ...DRAIN_RETRYING,
          on: {
            TICK: [GIVE_UP_DRAIN, { target: 'stopping' }],
          },
        },
        waiting: {
          ...DRAIN_WAITING,
          on: {
            AGENT_STOPPED: [
              { guard: and(['stoppedAfterDrain', 'thenPark']), target: '#instance.parked.parking', actions: { type: 'because', params: { reason: 'agent finished and stopped: parking it' } } },
              { guard: 'stoppedAfterDrain', target: 'terminating', actions: { type: 'because', params: { reason: 'agent finished and stopped' } } },
            ],
            IDLE: [
              { guard: { type: 'idleThenPark' }, target: '#instance.parked.parking', actions: ['markIdle', { type: 'because', params: { reason: 'drained: nothing runs on the agent; parking it' } }] },
              { guard: 'idleAfterDrain', target: 'terminating', actions: ['markIdle', { type: 'because', params: { reason: 'drained: nothing runs on the agent' } }] },
            ],
            TICK: { guard: 'deadlinePassed', target: 'terminating', actions: { type: 'because', params: { reason: 'drain deadline passed' } } },
          },
        },
        /**
         * Ending an instance whose drain never took effect (the drain call kept failing): its
         * agent still takes work, so a build seen on it before the terminate lands sends it back
         * to draining. The build must not pay for a throttled API (soak seed 9 #1524, seed 11
         * #56, #191, #3980, #7768: a terminate retried through a throttle killed the build the
         * agent took meanwhile). A state of its own, so no guard in terminating reads context.
         */
        abandoning: ending('abandoning', ABANDONING, {
          BUSY: { target: 'stopping', actions: ['markBusy', 'buildBeforeDrain', { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
        } as const),
        terminating: ending('terminating', TERMINATING, {}),
      },
    },
    // Launched to prime the warm pool: it boots and registers (its agent image pulled), then parks.
    priming: {
      initial: 'launching',
      states: {
        launching: {
          tags: PRIMING_LAUNCH.tags,
          entry: [...PRIMING_LAUNCH.entry, 'emitLaunch'],
          on: {
            LAUNCHED: { target: 'booting', actions: 'recordLaunch' },
            LAUNCH_FAILED: { target: '#instance.terminated', actions: 'becauseEvent' },
            TICK: { guard: 'deadlinePassed', target: '#instance.terminated', actions: { type: 'because', params: { reason: 'launch deadline passed' } } },
          },
        },
        booting: {
          ...PRIMING_BOOT,
          on: {
            INSTANCE_GONE: { target: '#instance.terminated', actions: { type: 'forcedBecause', params: { reason: 'instance vanished while priming' } } },
            REGISTERED: { target: '#instance.parked.parking', actions: { type: 'because', params: { reason: 'primed: container instance registered, agent image pulled' } } },
            // Nothing runs on a priming instance: it can be ended at once.
            TICK: { guard: 'deadlinePassed', target: '#instance.draining.terminating', actions: { type: 'because', params: { reason: 'boot deadline passed while priming' } } },
          },
        },
      },
    },
    // The warm pool: stopped on purpose, costing only its disk, started for work in seconds.
    parked: {
      initial: 'ready',
      on: {
        INSTANCE_GONE: { target: 'terminated', actions: { type: 'forcedBecause', params: { reason: 'parked instance vanished' } } },
      },
      states: {
        parking: {
          tags: PARKING.tags,
          // The drain's intention is spent: the next one decides afresh.
          entry: [{ type: 'startDeadline', params: { timeout: 'terminateRetryMs' } }, 'parkingNow', ...PARKING.entry, 'emitPark'],
          on: {
            PARKED: { target: 'ready', actions: { type: 'because', params: { reason: 'parked: stopped, ready to start' } } },
            PARK_FAILED: { target: 'retrying', actions: 'becauseEvent' },
            TICK: { guard: 'deadlinePassed', target: '#instance.draining.terminating', actions: { type: 'because', params: { reason: 'park did not take effect in time: ending it' } } },
          },
        },
        retrying: {
          ...PARK_RETRYING,
          on: {
            TICK: [
              { guard: 'deadlinePassed', target: '#instance.draining.terminating', actions: { type: 'because', params: { reason: 'park did not take effect in time: ending it' } } },
              { target: 'parking', reenter: true },
            ],
          },
        },
        ready: {
          tags: PARKED.tags,
          entry: ['noDeadline', ...PARKED.entry],
          on: {
            ACTIVATE: { target: 'starting', actions: ['becauseEvent', 'warmStart'] },
            EVICT: { target: '#instance.draining.terminating', actions: 'becauseEvent' },
            DRIFTED: { actions: ['recordDrift', 'report'] },
          },
        },
        starting: {
          tags: UNPARKING.tags,
          entry: [{ type: 'startDeadline', params: { timeout: 'bootMs' } }, ...UNPARKING.entry, 'emitUnpark'],
          on: {
            REGISTERED: { target: '#instance.booting.agent', actions: { type: 'because', params: { reason: 'started from parked: container instance reconnected' } } },
            // No room for its type in its zone now: end it; the planner launches another.
            UNPARK_FAILED: { target: '#instance.draining.terminating', actions: 'becauseEvent' },
            TICK: { guard: 'deadlinePassed', target: '#instance.draining.terminating', actions: { type: 'because', params: { reason: 'start from parked did not come up in time' } } },
            BUSY: { actions: 'markBusy' },
            IDLE: { actions: 'markIdle' },
          },
        },
      },
    },
    terminated: { type: 'final', ...TERMINATED },
  },
});

export type InstanceMachine = typeof instanceMachine;

/** The state a snapshot is in, for people and tests (`draining.waiting`); never parse it. */
export function stateLabel(value: unknown): string {
  if (typeof value === 'string') return value;
  const [k, v] = Object.entries(value as Record<string, unknown>)[0]!;
  return `${k}.${stateLabel(v)}`;
}
