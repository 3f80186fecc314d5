import { createAwsLeaseStore, createAwsProvider, createInterruptionSource } from '../cloud/aws/index.js';
import type { Config } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import { DdaError } from '../domain/errors.js';
import type { Logger } from '../log/logger.js';
import type { CloudProvider } from '../ports/cloud-provider.js';
import type { InterruptionSource } from '../ports/interruption-source.js';
import type { LeaseStore } from '../ports/lease.js';
import type { QueueSource } from '../ports/queue-source.js';
import { MemoryLeaseStore } from '../sim/lease-store.js';
import { SimWorld } from '../sim/sim-world.js';
import { primaryVariables } from '../sources/registry.js';
import type { Environment } from './settings.js';

export interface Backends {
  source: QueueSource;
  cloud: CloudProvider;
  /** The replica lease and launch intents; absent: a single daemon, launches held after a start. */
  lease?: BackendLease;
  /** The cloud's interruption queue, when one is configured (DDA_AWS_INTERRUPTION_QUEUE_URL). */
  interruptions?: InterruptionSource;
}

export interface BackendLease {
  store: LeaseStore;
  durationMs: number;
  renewMs: number;
}

/**
 * The composition root: the CI server and cloud named by the environment; undefined when no CI
 * server is configured (the daemon then runs the embedded simulation). A CI server without AWS
 * settings runs against the simulated cloud in real time: a dry run that shows every decision
 * and buys nothing.
 *
 * Deadlines: each request of the queue source has its own (DDA_CI_REQUEST_TIMEOUT); the
 * runtime bounds a whole poll, which may take several requests, with runtime.pollTimeoutSeconds.
 */
export async function resolveBackends(env: Pick<Environment, 'ci' | 'aws'>, config: Config, deps: { clock: Clock; logger: Logger }): Promise<Backends | undefined> {
  const { ci, aws } = env;
  if (!ci) {
    if (aws) throw new DdaError('CONFIG_INVALID', `AWS is configured but no CI server: set ${primaryVariables()}`);
    return undefined;
  }
  const { server, settings } = ci;
  const source = server.createSource(settings, { clock: deps.clock, logger: deps.logger });
  // Fail at start, naming the variable, when a pool cannot be expressed to this CI server.
  const specs = new Map(config.pools.map((p) => [p.name, server.agentSpec(settings, p)]));
  if (!aws) {
    deps.logger.warn({ source: source.kind }, 'no AWS settings (DDA_ECS_CLUSTER, DDA_AWS_REGION): using the simulated cloud (dry run, nothing is bought)');
    // The simulated cloud keeps its launch intents in memory: no settling hold after a start.
    const lease = { store: new MemoryLeaseStore(), durationMs: 30_000, renewMs: 10_000 };
    return { source, cloud: new SimWorld({ clock: deps.clock, pools: config.pools, billing: config.planner.billing, ...config.simulatedCloud }).cloud, lease };
  }
  const cloud = createAwsProvider(aws, {
    clock: deps.clock,
    logger: deps.logger,
    daemonId: config.runtime.daemonId,
    bootTimeoutSeconds: config.lifecycle.bootTimeoutSeconds,
    agents: (pool) => {
      const spec = specs.get(pool);
      if (!spec) throw new DdaError('CONFIG_INVALID', `no pool named ${pool} in configuration`);
      return spec;
    },
  });
  const interruptions = createInterruptionSource(aws, { logger: deps.logger });
  const store = createAwsLeaseStore(aws, config.runtime.daemonId);
  return {
    source,
    cloud,
    ...(interruptions ? { interruptions } : {}),
    ...(store && aws.lease ? { lease: { store, durationMs: aws.lease.durationSeconds * 1000, renewMs: aws.lease.renewSeconds * 1000 } } : {}),
  };
}
