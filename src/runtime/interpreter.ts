import type { PoolConfig } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import { warmSpotOf } from '../domain/pool.js';
import { DdaError, describeError, isDdaError } from '../domain/errors.js';
import type { Logger } from '../log/logger.js';
import type { CloudProvider } from '../ports/cloud-provider.js';
import type { QueueSource } from '../ports/queue-source.js';
import type { InstanceCommand, InstanceCommandType, InstanceEvent } from '../../machines/instance/events.js';

/**
 * Carries out what the instance actors ask for, and sends the outcome back as an event.
 * It decides nothing: a failure becomes a *_FAILED event and the statechart chooses what next.
 * The agent's name on the CI server is its instance id.
 *
 * Every command runs under a deadline on the injected clock: when it passes, the call is
 * aborted, the actor hears the command failed (CLOUD_TIMEOUT / SOURCE_TIMEOUT), and a late
 * answer is dropped. So `idle()` settles within the deadline even when the cloud stops
 * answering, and a shutdown is bounded.
 */
export interface Interpreter {
  execute(cmd: InstanceCommand): void;
  /** Settles when every command in flight has finished or passed its deadline. */
  idle(): Promise<void>;
  readonly inFlight: number;
  /** The commands in flight now, oldest first: what a shutdown that cannot wait leaves behind. */
  pending(): CommandInFlight[];
}

export interface CommandInFlight {
  action: InstanceCommandType;
  key: string;
  pool: string;
  instance: string | null;
  /** When the command started (ms epoch). */
  since: number;
}

export interface InterpreterDeps {
  cloud: CloudProvider;
  source: QueueSource;
  pools: readonly PoolConfig[];
  clock: Clock;
  logger: Logger;
  send: (key: string, event: InstanceEvent) => void;
  /** Deadline of one command. */
  timeoutMs: number;
  /** False for in-memory sources and clouds (the simulator): no AbortController per command. */
  abortable?: boolean;
}

/** What the deadline of a command reports, by command. */
const FAILED = {
  launch: 'LAUNCH_FAILED',
  startAgent: 'AGENT_START_FAILED',
  drainAgent: 'DRAIN_FAILED',
  terminate: 'TERMINATE_FAILED',
  park: 'PARK_FAILED',
  unpark: 'UNPARK_FAILED',
} as const satisfies Record<InstanceCommandType, InstanceEvent['type']>;

/** One command in flight. */
interface Call {
  readonly cmd: InstanceCommand;
  readonly since: number;
  readonly ac: AbortController | null;
  /** Which side the command waits on now: names the timeout's code. */
  waitingOn: 'cloud' | 'source';
  /** The outcome the actor needs is delivered (a terminate's forgetAgent is housekeeping). */
  reported: boolean;
  /** The deadline passed: the failure is reported, anything later is dropped. */
  expired: boolean;
  timer: unknown;
}

export function createInterpreter(deps: InterpreterDeps): Interpreter {
  const { cloud, source, clock, logger, send } = deps;
  const log = logger.child({ name: 'runtime.interpreter' });
  const running = new Map<Call, Promise<void>>();

  const fail = (cmd: InstanceCommand, err: unknown, action: string = cmd.type) => {
    log.warn({ action, key: cmd.key, pool: cmd.pool, instance: 'instanceId' in cmd ? cmd.instanceId : undefined, code: isDdaError(err) ? err.code : undefined, err: describeError(err) }, `${action} failed`);
    return describeError(err);
  };

  const late = (c: Call, outcome: string) => log.info({ action: c.cmd.type, key: c.cmd.key, outcome }, 'answer after the deadline dropped');

  function expire(c: Call): void {
    c.expired = true;
    c.ac?.abort();
    const seconds = deps.timeoutMs / 1000;
    const side = c.waitingOn === 'cloud' ? cloud.kind : source.kind;
    const err = new DdaError(c.waitingOn === 'cloud' ? 'CLOUD_TIMEOUT' : 'SOURCE_TIMEOUT', `${side}: ${c.cmd.type} did not answer within ${seconds} s`, { action: c.cmd.type, key: c.cmd.key });
    if (c.reported) {
      // Only the CI server's housekeeping after a terminate was still running.
      log.warn({ action: 'forgetAgent', key: c.cmd.key, instance: 'instanceId' in c.cmd ? c.cmd.instanceId : undefined, code: err.code, err: describeError(err) }, 'could not remove the agent from the CI server');
      return;
    }
    send(c.cmd.key, { type: FAILED[c.cmd.type], now: clock.now(), reason: fail(c.cmd, err), ...(c.cmd.type === 'launch' ? { code: err.code } : {}) });
  }

  async function run(c: Call): Promise<void> {
    const { cmd } = c;
    const signal = c.ac?.signal;
    switch (cmd.type) {
      case 'launch': {
        const pool = deps.pools.find((p) => p.name === cmd.pool);
        if (!pool) {
          send(cmd.key, { type: 'LAUNCH_FAILED', now: clock.now(), reason: `no pool named ${cmd.pool} in configuration` });
          return;
        }
        try {
          const r = await cloud.launch({ key: cmd.key, pool: cmd.pool, demand: pool.demand, concurrency: pool.concurrency, ...(cmd.purpose === 'park' ? { purpose: 'park' as const, ...warmSpotOf(pool) } : {}) }, signal);
          if (c.expired) return late(c, `launched ${r.instanceId}`);
          send(cmd.key, { type: 'LAUNCHED', now: clock.now(), instanceId: r.instanceId, launchedAt: r.launchedAt, pricePerHour: r.pricePerHour });
        } catch (e) {
          if (c.expired) return late(c, describeError(e));
          send(cmd.key, { type: 'LAUNCH_FAILED', now: clock.now(), reason: fail(cmd, e), ...(isDdaError(e) ? { code: e.code } : {}) });
        }
        return;
      }
      case 'park':
      case 'unpark': {
        // The outcome is seen in the describe (stopped and tagged parked; running and reconnected).
        const call = cmd.type === 'park' ? cloud.park : cloud.unpark;
        try {
          if (!call) throw new DdaError('CLOUD_FAILED', `${cloud.kind}: has no warm pool (${cmd.type})`);
          await call.call(cloud, cmd.instanceId, signal);
        } catch (e) {
          if (c.expired) return late(c, describeError(e));
          send(cmd.key, { type: FAILED[cmd.type], now: clock.now(), reason: fail(cmd, e) });
        }
        return;
      }
      case 'startAgent':
        try {
          await cloud.startAgent(cmd.instanceId, cmd.instanceId, cmd.pool, signal);
        } catch (e) {
          if (c.expired) return late(c, describeError(e));
          send(cmd.key, { type: 'AGENT_START_FAILED', now: clock.now(), reason: fail(cmd, e) });
        }
        return;
      case 'drainAgent':
        try {
          // Server-side drain first (Woodpecker, GoCD): SIGTERM would cancel their builds.
          if (source.drainStyle === 'server') {
            c.waitingOn = 'source';
            await source.drainAgent(cmd.instanceId, signal);
            c.waitingOn = 'cloud';
          }
          await cloud.drainAgent(cmd.instanceId, source.drainStyle === 'signal', signal);
          if (c.expired) return late(c, 'drain started');
          send(cmd.key, { type: 'DRAIN_STARTED', now: clock.now() });
        } catch (e) {
          if (c.expired) return late(c, describeError(e));
          send(cmd.key, { type: 'DRAIN_FAILED', now: clock.now(), reason: fail(cmd, e) });
        }
        return;
      case 'terminate':
        try {
          await cloud.terminate(cmd.instanceId, signal);
        } catch (e) {
          if (c.expired) return late(c, describeError(e));
          if (!isDdaError(e, 'CLOUD_NOT_FOUND')) {
            send(cmd.key, { type: 'TERMINATE_FAILED', now: clock.now(), reason: fail(cmd, e) });
            return;
          }
        }
        if (c.expired) return late(c, 'terminated');
        c.reported = true;
        c.waitingOn = 'source';
        try {
          await source.forgetAgent(cmd.instanceId, signal);
        } catch (e) {
          if (c.expired) return;
          log.warn({ action: 'forgetAgent', key: cmd.key, instance: cmd.instanceId, err: describeError(e) }, 'could not remove the agent from the CI server');
        }
        return;
    }
  }

  return {
    execute(cmd) {
      const c: Call = { cmd, since: clock.now(), ac: deps.abortable === false ? null : new AbortController(), waitingOn: 'cloud', reported: false, expired: false, timer: null };
      let release!: () => void;
      // Settles when the command finishes or its deadline passes, whichever comes first.
      const settled = new Promise<void>((resolve) => (release = resolve));
      c.timer = clock.setTimeout(() => {
        c.timer = null;
        expire(c);
        release();
      }, deps.timeoutMs);
      running.set(c, settled);
      void run(c)
        .catch((e: unknown) => {
          log.error({ action: cmd.type, key: cmd.key, err: describeError(e) }, 'interpreter bug');
        })
        .then(release);
      void settled.then(() => {
        if (c.timer !== null) clock.clearTimeout(c.timer);
        c.timer = null;
        running.delete(c);
      });
    },
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running.values()]);
    },
    get inFlight() {
      return running.size;
    },
    pending() {
      return [...running.keys()].map((c) => ({ action: c.cmd.type, key: c.cmd.key, pool: c.cmd.pool, instance: 'instanceId' in c.cmd ? c.cmd.instanceId : null, since: c.since }));
    },
  };
}
