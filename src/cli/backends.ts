import { createAwsProvider } from '../cloud/aws/index.js';
import { loadAwsConfig } from '../config/aws-env.js';
import { agentSpecFor, createQueueSource, loadCiConfig } from '../config/ci-env.js';
import type { Config } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import { DdaError } from '../domain/errors.js';
import type { Logger } from '../log/logger.js';
import type { CloudProvider } from '../ports/cloud-provider.js';
import type { QueueSource } from '../ports/queue-source.js';
import { SimWorld } from '../sim/sim-world.js';

export interface Backends {
  source: QueueSource;
  cloud: CloudProvider;
}

/**
 * The CI server and cloud named by the environment; undefined when no CI server is configured
 * (the daemon then runs the embedded simulation). A CI server without AWS settings runs against
 * the simulated cloud in real time: a dry run that shows every decision and buys nothing.
 */
export async function resolveBackends(env: NodeJS.ProcessEnv, config: Config, deps: { clock: Clock; logger: Logger }): Promise<Backends | undefined> {
  const ci = loadCiConfig(env);
  const aws = loadAwsConfig(env);
  if (!ci) {
    if (aws) throw new DdaError('CONFIG_INVALID', 'AWS is configured but no CI server: set DRONE_SERVER_HOST (or WOODPECKER_SERVER, or GOCD_SERVER_URL)');
    return undefined;
  }
  const source = createQueueSource(ci, { clock: deps.clock, logger: deps.logger, timeoutMs: config.runtime.pollTimeoutSeconds * 1000 });
  // Fail at start, naming the variable, when a pool cannot be expressed to this CI server.
  const specs = new Map(config.pools.map((p) => [p.name, agentSpecFor(ci, p)]));
  if (!aws) {
    deps.logger.warn({ source: source.kind }, 'no DDA_AWS_* settings: using the simulated cloud (dry run, nothing is bought)');
    return { source, cloud: new SimWorld({ clock: deps.clock, pools: config.pools, billing: config.planner.billing, ...config.simulatedCloud }).cloud };
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
  return { source, cloud };
}
