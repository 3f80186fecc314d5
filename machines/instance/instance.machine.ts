import { assign, emit, setup } from 'xstate';
import type { AdoptPhase, InstanceCommand, InstanceEvent, InstanceInput, InstanceTimeouts } from './events.js';

/**
 * One cloud instance running one CI agent: requested → booting → task-running → draining →
 * terminated. Pure: no invoke, no after, no clock. Deadlines live in context and are checked
 * when a TICK arrives; effects leave as emitted commands.
 *
 * The one rule that costs money to get wrong lives in a guard here too, not only in the
 * planner: a busy agent ignores DRAIN (only a forced interruption ends a running build).
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
}

type E = InstanceEvent;
const withNow = (e: E | { type: string }): number | null => ('now' in e && typeof e.now === 'number' ? e.now : null);

export const instanceMachine = setup({
  types: {
    context: {} as InstanceContext,
    events: {} as InstanceEvent,
    input: {} as InstanceInput,
    emitted: {} as InstanceCommand,
  },
  guards: {
    deadlinePassed: ({ context, event }) => {
      const now = withNow(event);
      return now !== null && now >= context.deadline;
    },
    isBusy: ({ context }) => context.busy,
    adoptedAs: ({ context }, p: { phase: AdoptPhase }) => context.adoptPhase === p.phase,
    adoptedBusy: ({ context }) => context.adoptPhase === 'task-running' && context.busy,
    /** An IDLE that was observed after the drain took effect: nothing can start on the agent any more. */
    idleAfterDrain: ({ context, event }) =>
      event.type === 'IDLE' && context.drainAckAt !== null && event.now >= context.drainAckAt,
  },
  actions: {
    emitLaunch: emit(({ context }) => ({ type: 'launch' as const, key: context.key, pool: context.pool })),
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
    forcedBecause: assign((_, p: { reason: string }) => ({ reason: p.reason, forced: true })),
    markBusy: assign({ busy: true, idleSince: null }),
    markIdle: assign(({ event, context }) => ({ busy: false, idleSince: withNow(event) ?? context.idleSince })),
    ackDrain: assign(({ event }) => ({ drainAckAt: withNow(event) })),
    renew: assign(({ event }) => (event.type === 'RENEW' ? { paidUntil: event.until, reason: event.reason } : {})),
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
        : a.phase === 'terminating'
          ? input.now + t.terminateRetryMs
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
            { target: 'launching' },
          ],
        },
        launching: {
          entry: 'emitLaunch',
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
        SPOT_INTERRUPTION: { target: 'draining', actions: [{ type: 'forcedBecause', params: { reason: 'forced: spot interruption while booting' } }, { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
        TICK: { guard: 'deadlinePassed', target: 'draining', actions: [{ type: 'because', params: { reason: 'boot deadline passed' } }, { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
        BUSY: { actions: 'markBusy' },
        IDLE: { actions: 'markIdle' },
      },
      states: {
        instance: {
          on: {
            REGISTERED: { target: 'agent', actions: { type: 'because', params: { reason: 'container instance registered' } } },
            // Nothing can run here yet, so the planner may cancel a boot it no longer needs.
            DRAIN: { target: '#instance.draining', actions: ['becauseEvent', { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
          },
        },
        agent: {
          entry: 'emitStartAgent',
          on: {
            AGENT_RUNNING: { target: '#instance.task-running', actions: { type: 'because', params: { reason: 'agent running' } } },
            AGENT_START_FAILED: { target: '#instance.draining', actions: ['becauseEvent', { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
            AGENT_STOPPED: { target: '#instance.draining', actions: [{ type: 'because', params: { reason: 'agent stopped while starting' } }, { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
          },
        },
        // Adopted with its agent already starting: do not start a second one.
        agentPending: {
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
        SPOT_INTERRUPTION: { target: 'draining', actions: [{ type: 'forcedBecause', params: { reason: 'forced: spot interruption' } }, { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
        RENEW: { actions: 'renew' },
      },
      states: {
        // The queue may have shown the agent busy before the cloud showed it running.
        entered: { always: [{ guard: 'isBusy', target: 'busy', actions: { type: 'because', params: { reason: 'agent running, a stage already runs on it' } } }, { target: 'idle' }] },
        idle: {
          entry: 'markIdle',
          on: {
            BUSY: { target: 'busy', actions: { type: 'because', params: { reason: 'a stage runs on the agent' } } },
            DRAIN: { target: '#instance.draining', actions: ['becauseEvent', { type: 'startDeadline', params: { timeout: 'drainMs' } }] },
          },
        },
        // DRAIN is deliberately not handled here: a planner bug cannot stop a running build.
        busy: {
          entry: 'markBusy',
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
          entry: 'emitDrainAgent',
          on: {
            DRAIN_STARTED: { target: 'waiting', actions: 'ackDrain' },
            DRAIN_FAILED: { target: 'retrying', actions: 'becauseEvent' },
            TICK: { guard: 'deadlinePassed', target: 'terminating', actions: { type: 'because', params: { reason: 'drain deadline passed' } } },
          },
        },
        retrying: {
          on: {
            TICK: [
              { guard: 'deadlinePassed', target: 'terminating', actions: { type: 'because', params: { reason: 'drain deadline passed' } } },
              { target: 'stopping' },
            ],
          },
        },
        waiting: {
          on: {
            AGENT_STOPPED: { target: 'terminating', actions: { type: 'because', params: { reason: 'agent finished and stopped' } } },
            IDLE: { guard: 'idleAfterDrain', target: 'terminating', actions: ['markIdle', { type: 'because', params: { reason: 'drained: nothing runs on the agent' } }] },
            TICK: { guard: 'deadlinePassed', target: 'terminating', actions: { type: 'because', params: { reason: 'drain deadline passed' } } },
          },
        },
        terminating: {
          entry: ['emitTerminate', { type: 'startDeadline', params: { timeout: 'terminateRetryMs' } }],
          on: {
            TERMINATE_FAILED: { actions: 'becauseEvent' },
            // Re-enter to re-issue the terminate: the instance must never be left running.
            TICK: { guard: 'deadlinePassed', target: 'terminating', reenter: true, actions: { type: 'because', params: { reason: 'terminate not yet effective: retrying' } } },
          },
        },
      },
    },
    terminated: { type: 'final' },
  },
});

export type InstanceMachine = typeof instanceMachine;

/** The five lifecycle phases the user named, from a snapshot value. */
export type Phase = 'requested' | 'booting' | 'task-running' | 'draining' | 'terminated';

export function phaseOf(value: unknown): Phase {
  if (typeof value === 'string') return value as Phase;
  return Object.keys(value as object)[0] as Phase;
}

/**
 * Launching, booting or draining: a deadline is running (so it needs ticks) and the cloud is
 * changing under it (so the fleet is worth describing often). A running agent is settled.
 */
export function isChanging(value: unknown): boolean {
  return phaseOf(value) !== 'task-running';
}

/** `draining.waiting` style path of a state value. */
export function statePath(value: unknown): string {
  if (typeof value === 'string') return value;
  const [k, v] = Object.entries(value as Record<string, unknown>)[0]!;
  return `${k}.${statePath(v)}`;
}
