import type { Config } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log/logger.js';
import type { CloudProvider } from '../ports/cloud-provider.js';
import type { QueueSource } from '../ports/queue-source.js';

export interface Backends {
  source: QueueSource;
  cloud: CloudProvider;
}

/** The CI server and cloud named by the environment; undefined when none is configured. */
export async function resolveBackends(_env: NodeJS.ProcessEnv, _config: Config, _deps: { clock: Clock; logger: Logger }): Promise<Backends | undefined> {
  return undefined;
}
