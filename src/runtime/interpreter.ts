import type { PoolConfig } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import { describeError, isDdaError } from '../domain/errors.js';
import type { Logger } from '../log/logger.js';
import type { CloudProvider } from '../ports/cloud-provider.js';
import type { QueueSource } from '../ports/queue-source.js';
import type { InstanceCommand, InstanceEvent } from '../../machines/instance/events.js';

/**
 * Carries out what the instance actors ask for, and sends the outcome back as an event.
 * It decides nothing: a failure becomes a *_FAILED event and the statechart chooses what next.
 * The agent's name on the CI server is its instance id.
 */
export interface Interpreter {
  execute(cmd: InstanceCommand): void;
  /** Settles when every command in flight has finished. */
  idle(): Promise<void>;
  readonly inFlight: number;
}

export function createInterpreter(deps: {
  cloud: CloudProvider;
  source: QueueSource;
  pools: readonly PoolConfig[];
  clock: Clock;
  logger: Logger;
  send: (key: string, event: InstanceEvent) => void;
}): Interpreter {
  const { cloud, source, clock, logger, send } = deps;
  const log = logger.child({ name: 'runtime.interpreter' });
  const running = new Set<Promise<void>>();

  const fail = (cmd: InstanceCommand, err: unknown) => {
    log.warn({ action: cmd.type, key: cmd.key, pool: cmd.pool, instance: 'instanceId' in cmd ? cmd.instanceId : undefined, code: isDdaError(err) ? err.code : undefined, err: describeError(err) }, `${cmd.type} failed`);
    return describeError(err);
  };

  async function run(cmd: InstanceCommand): Promise<void> {
    switch (cmd.type) {
      case 'launch': {
        const pool = deps.pools.find((p) => p.name === cmd.pool);
        if (!pool) {
          send(cmd.key, { type: 'LAUNCH_FAILED', now: clock.now(), reason: `no pool named ${cmd.pool} in configuration` });
          return;
        }
        try {
          const r = await cloud.launch({ key: cmd.key, pool: cmd.pool, demand: pool.demand, concurrency: pool.concurrency });
          send(cmd.key, { type: 'LAUNCHED', now: clock.now(), instanceId: r.instanceId, launchedAt: r.launchedAt, pricePerHour: r.pricePerHour });
        } catch (e) {
          send(cmd.key, { type: 'LAUNCH_FAILED', now: clock.now(), reason: fail(cmd, e) });
        }
        return;
      }
      case 'startAgent':
        try {
          await cloud.startAgent(cmd.instanceId, cmd.instanceId, cmd.pool);
        } catch (e) {
          send(cmd.key, { type: 'AGENT_START_FAILED', now: clock.now(), reason: fail(cmd, e) });
        }
        return;
      case 'drainAgent':
        try {
          // Server-side drain first (Woodpecker, GoCD): SIGTERM would cancel their builds.
          if (source.drainStyle === 'server') await source.drainAgent(cmd.instanceId);
          await cloud.drainAgent(cmd.instanceId, source.drainStyle === 'signal');
          send(cmd.key, { type: 'DRAIN_STARTED', now: clock.now() });
        } catch (e) {
          send(cmd.key, { type: 'DRAIN_FAILED', now: clock.now(), reason: fail(cmd, e) });
        }
        return;
      case 'terminate':
        try {
          await cloud.terminate(cmd.instanceId);
        } catch (e) {
          if (!isDdaError(e, 'CLOUD_NOT_FOUND')) {
            send(cmd.key, { type: 'TERMINATE_FAILED', now: clock.now(), reason: fail(cmd, e) });
            return;
          }
        }
        try {
          await source.forgetAgent(cmd.instanceId);
        } catch (e) {
          log.warn({ action: 'forgetAgent', key: cmd.key, instance: cmd.instanceId, err: describeError(e) }, 'could not remove the agent from the CI server');
        }
        return;
    }
  }

  return {
    execute(cmd) {
      const p = run(cmd).catch((e: unknown) => {
        log.error({ action: cmd.type, key: cmd.key, err: describeError(e) }, 'interpreter bug');
      });
      running.add(p);
      void p.finally(() => running.delete(p));
    },
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    get inFlight() {
      return running.size;
    },
  };
}
