import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import { DdaError } from '../domain/errors.js';
import type { Demand } from '../domain/pool.js';
import { envNames, seconds, type Env, type EnvNames } from '../config/env.js';
import type { AgentSpec } from '../ports/agent-spec.js';
import type { QueueSource } from '../ports/queue-source.js';

/**
 * What every CI server adapter provides. One adapter is one folder, `src/sources/<server>/`:
 * its environment settings (`settings.ts`), its queue source, its agent conventions
 * (`agent-spec.ts`) and this object (`index.ts`); `registry.ts` lists them. Nothing outside
 * the folder knows a server's variables or conventions.
 */
export interface CiServer<S extends CiSettings = CiSettings> {
  /** Short name, the same as the source's `kind`: 'drone', 'woodpecker', 'gocd'. */
  readonly kind: string;
  /** The variable whose presence selects this server. */
  readonly primaryVariable: string;
  /** Every variable of this server (primary included): one set while the primary is not is an error (so is a secret's `_FILE` twin). */
  readonly variables: readonly string[];
  /** All its variables (refused ones and `_FILE` twins included) and its secrets: `envNames` of its schema, without the common ones. */
  readonly env: EnvNames;
  /** Read and validate; throws a one-line CONFIG_INVALID naming the variable, never its value. */
  loadSettings(env: Env): S;
  createSource(settings: S, deps: SourceDeps): QueueSource;
  /** What the cloud starts for `pool`; CONFIG_INVALID naming the pool when this server cannot express it. */
  agentSpec(settings: S, pool: AgentPool): AgentSpec;
}

/** Settings every server has. Secrets are non-enumerable properties of the concrete settings. */
export interface CiSettings {
  readonly kind: string;
  /** The API the daemon polls, without a trailing slash. */
  serverUrl: string;
  /** Per-request deadline of the queue source (DDA_CI_REQUEST_TIMEOUT). */
  requestTimeoutMs: number;
  agentImage: string;
  agentStopTimeoutSeconds: number;
  mountDockerSocket: boolean;
}

export interface SourceDeps {
  clock: Clock;
  logger: Logger;
  dispatcher?: Dispatcher;
}

/** What the agent conventions need to know of a pool. */
export interface AgentPool {
  name: string;
  /** Agent slots per instance. */
  concurrency: number;
  demand: Demand;
}

/** Variables shared by every server; spread into each server's schema. */
export const CI_COMMON_ENV = {
  /** Seconds; the per-request deadline of the queue source. */
  DDA_CI_REQUEST_TIMEOUT: seconds(10, 300),
};

export const CI_COMMON_NAMES = envNames(CI_COMMON_ENV);

/** The settings the common variables give. */
export function ciCommon(e: { DDA_CI_REQUEST_TIMEOUT: number }): Pick<CiSettings, 'requestTimeoutMs'> {
  return { requestTimeoutMs: e.DDA_CI_REQUEST_TIMEOUT * 1000 };
}

/** The part of an AgentSpec that every server fills the same way. */
export function agentBase(s: CiSettings): Pick<AgentSpec, 'image' | 'stopTimeoutSeconds' | 'mountDockerSocket'> {
  return { image: s.agentImage, stopTimeoutSeconds: s.agentStopTimeoutSeconds, mountDockerSocket: s.mountDockerSocket };
}

/** A pool's labels sorted by key: agents get them in a stable order. */
export function sortedLabels(pool: AgentPool): (readonly [string, string])[] {
  const l = pool.demand.labels;
  return Object.keys(l)
    .sort()
    .map((k) => [k, l[k]!] as const);
}

export function poolInvalid(pool: AgentPool, problem: string): DdaError {
  return new DdaError('CONFIG_INVALID', `pools.${pool.name}: ${problem}`, { pool: pool.name });
}
