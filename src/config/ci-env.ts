import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import { DdaError } from '../domain/errors.js';
import type { AgentSpec } from '../ports/agent-spec.js';
import type { QueueSource } from '../ports/queue-source.js';
import type { PoolConfig } from './config.js';
import { createDroneSource } from '../sources/drone/drone-source.js';
import { createWoodpeckerSource } from '../sources/woodpecker/woodpecker-source.js';
import { createGocdSource, GOCD_ENVIRONMENT_LABEL } from '../sources/gocd/gocd-source.js';
import type { HttpAuth } from '../sources/http/request.js';

/**
 * The CI server, from environment variables in the style of the existing autoscalers
 * (drone/autoscaler, woodpecker-ci/autoscaler). At most one server may be configured; none means
 * the daemon runs the simulator. Every problem is one line naming the variable and never its
 * value (a misplaced secret must not end up in a log). Reference: docs/ci-servers.md.
 *
 * Tokens are kept on the config object as non-enumerable properties, so logging or serialising
 * a CiConfig cannot print them.
 */

interface CiCommon {
  /** Per-request deadline for the queue source (DDA_CI_REQUEST_TIMEOUT, seconds; default 10). */
  requestTimeoutMs: number;
  agentImage: string;
  agentStopTimeoutSeconds: number;
  mountDockerSocket: boolean;
}

export interface DroneCiConfig extends CiCommon {
  kind: 'drone';
  /** `proto://host` of the API the daemon polls. */
  serverUrl: string;
  readonly token: string;
  rpcProto: 'http' | 'https';
  rpcHost: string;
  rpcSecretRef: string;
}

export interface WoodpeckerCiConfig extends CiCommon {
  kind: 'woodpecker';
  serverUrl: string;
  readonly token: string;
  /** host:port of the gRPC endpoint agents connect to (the agent's WOODPECKER_SERVER). */
  grpcAddr: string;
  grpcSecure: boolean | undefined;
  agentSecretRef: string;
}

export interface GocdCiConfig extends CiCommon {
  kind: 'gocd';
  /** Ends in `/go`. */
  serverUrl: string;
  readonly auth: HttpAuth;
  /** GO_SERVER_URL for agents (GOCD_AGENT_SERVER_URL, default serverUrl). */
  agentServerUrl: string;
  autoRegisterKeyRef: string;
}

export type CiConfig = DroneCiConfig | WoodpeckerCiConfig | GocdCiConfig;

const PRIMARY = { drone: 'DRONE_SERVER_HOST', woodpecker: 'WOODPECKER_SERVER', gocd: 'GOCD_SERVER_URL' } as const;
const DAEMON_VARS: Record<keyof typeof PRIMARY, readonly string[]> = {
  drone: ['DRONE_SERVER_HOST', 'DRONE_SERVER_PROTO', 'DRONE_SERVER_TOKEN', 'DRONE_RPC_SECRET_REF', 'DRONE_RPC_PROTO', 'DRONE_RPC_HOST', 'DRONE_AGENT_IMAGE', 'DRONE_AGENT_STOP_TIMEOUT'],
  woodpecker: ['WOODPECKER_SERVER', 'WOODPECKER_TOKEN', 'WOODPECKER_GRPC_ADDR', 'WOODPECKER_GRPC_SECURE', 'WOODPECKER_AGENT_SECRET_REF', 'WOODPECKER_AGENT_IMAGE', 'WOODPECKER_AGENT_STOP_TIMEOUT'],
  gocd: ['GOCD_SERVER_URL', 'GOCD_TOKEN', 'GOCD_USERNAME', 'GOCD_PASSWORD', 'GOCD_AUTO_REGISTER_KEY_REF', 'GOCD_AGENT_IMAGE', 'GOCD_AGENT_SERVER_URL', 'GOCD_AGENT_STOP_TIMEOUT', 'GOCD_AGENT_DOCKER_SOCKET'],
};

export const DEFAULT_DRONE_AGENT_IMAGE = 'drone/drone-runner-docker:1';
export const DEFAULT_WOODPECKER_AGENT_IMAGE = 'woodpeckerci/woodpecker-agent:v3';

function invalid(variable: string, problem: string): DdaError {
  return new DdaError('CONFIG_INVALID', `${variable}: ${problem}`, { variable });
}

class Env {
  constructor(private readonly env: NodeJS.ProcessEnv) {}
  has(name: string): boolean {
    return (this.env[name] ?? '').trim() !== '';
  }
  optional(name: string): string | undefined {
    const v = (this.env[name] ?? '').trim();
    return v === '' ? undefined : v;
  }
  required(name: string, hint: string): string {
    const v = this.optional(name);
    if (v === undefined) throw invalid(name, `required: ${hint}`);
    return v;
  }
  /** Secrets are taken as given (no trim): whitespace may be part of them. */
  secret(name: string, hint: string): string {
    const v = this.env[name] ?? '';
    if (v.trim() === '') throw invalid(name, `required: ${hint}`);
    return v;
  }
  seconds(name: string, fallback: number, max: number): number {
    const v = this.optional(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw invalid(name, `must be a number of seconds between 0 and ${max}`);
    return n;
  }
  bool(name: string): boolean | undefined {
    const v = this.optional(name)?.toLowerCase();
    if (v === undefined) return undefined;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw invalid(name, 'must be true or false');
  }
  proto(name: string, fallback: 'http' | 'https'): 'http' | 'https' {
    const v = this.optional(name) ?? fallback;
    if (v !== 'http' && v !== 'https') throw invalid(name, 'must be http or https');
    return v;
  }
  url(name: string, hint: string): string {
    const v = this.required(name, hint);
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw invalid(name, `not a URL: ${hint}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(name, 'must be an http:// or https:// URL');
    if (u.username || u.password) throw invalid(name, 'must not carry credentials; use the token variable');
    return v.replace(/\/+$/, '');
  }
  /** A reference to a secret in SSM Parameter Store or Secrets Manager, never the secret. */
  secretRef(name: string, what: string): string {
    const v = this.required(name, `the SSM parameter name (/path/name) or SSM/Secrets Manager ARN holding ${what}`);
    const arn = /^arn:aws[a-z-]*:(ssm|secretsmanager):[a-z0-9-]+:\d{12}:(parameter\/|secret:)\S+$/;
    const path = /^(\/[A-Za-z0-9_.-]+)+$/;
    if (!arn.test(v) && !path.test(v)) {
      throw invalid(name, `must be an SSM parameter path starting with / or an SSM/Secrets Manager ARN holding ${what} (value not shown)`);
    }
    return v;
  }
  host(name: string, hint: string): string {
    const v = this.required(name, hint);
    if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(v)) throw invalid(name, `must be host[:port] without scheme or path: ${hint}`);
    return v;
  }
}

/** undefined when no CI server is configured (the daemon then runs the simulator). */
export function loadCiConfig(env: NodeJS.ProcessEnv): CiConfig | undefined {
  const e = new Env(env);
  const kinds = (Object.keys(PRIMARY) as (keyof typeof PRIMARY)[]).filter((k) => e.has(PRIMARY[k]));
  if (kinds.length > 1) {
    throw invalid(kinds.map((k) => PRIMARY[k]).join(', '), 'only one CI server may be configured; unset all but one');
  }
  // A half-configured server is a mistake, not a request for the simulator.
  for (const kind of Object.keys(DAEMON_VARS) as (keyof typeof PRIMARY)[]) {
    if (kinds.includes(kind)) continue;
    const stray = DAEMON_VARS[kind].find((v) => e.has(v));
    if (stray) throw invalid(stray, `is set but ${PRIMARY[kind]} is not: set ${PRIMARY[kind]} or unset ${stray}`);
  }
  const timeout = e.seconds('DDA_CI_REQUEST_TIMEOUT', 10, 300) * 1000;
  const kind = kinds[0];
  if (kind === 'drone') return loadDrone(e, timeout);
  if (kind === 'woodpecker') return loadWoodpecker(e, timeout);
  if (kind === 'gocd') return loadGocd(e, timeout);
  return undefined;
}

function refuseInDaemon(e: Env, name: string, instead: string): void {
  if (e.has(name)) throw invalid(name, `not read by the daemon: ${instead}`);
}

function loadDrone(e: Env, requestTimeoutMs: number): DroneCiConfig {
  const host = e.host('DRONE_SERVER_HOST', 'the Drone server, e.g. drone.example.com');
  const proto = e.proto('DRONE_SERVER_PROTO', 'https');
  const token = e.secret('DRONE_SERVER_TOKEN', "an admin user's API token");
  refuseInDaemon(e, 'DRONE_RPC_SECRET', 'store the secret in SSM or Secrets Manager and set DRONE_RPC_SECRET_REF');
  refuseInDaemon(e, 'DRONE_RUNNER_CAPACITY', "each pool's concurrency sets it, so the planner and the runner agree");
  const cfg: Omit<DroneCiConfig, 'token'> = {
    kind: 'drone',
    serverUrl: `${proto}://${host}`,
    rpcProto: e.proto('DRONE_RPC_PROTO', proto),
    rpcHost: e.optional('DRONE_RPC_HOST') === undefined ? host : e.host('DRONE_RPC_HOST', 'the address runners reach the server at'),
    rpcSecretRef: e.secretRef('DRONE_RPC_SECRET_REF', 'the Drone RPC secret'),
    agentImage: e.optional('DRONE_AGENT_IMAGE') ?? DEFAULT_DRONE_AGENT_IMAGE,
    agentStopTimeoutSeconds: e.seconds('DRONE_AGENT_STOP_TIMEOUT', 120, 86_400),
    mountDockerSocket: true,
    requestTimeoutMs,
  };
  return withHidden(cfg, 'token', token) as DroneCiConfig;
}

function loadWoodpecker(e: Env, requestTimeoutMs: number): WoodpeckerCiConfig {
  const serverUrl = e.url('WOODPECKER_SERVER', 'the Woodpecker server URL, e.g. https://ci.example.com');
  const token = e.secret('WOODPECKER_TOKEN', "an admin user's personal access token");
  refuseInDaemon(e, 'WOODPECKER_AGENT_SECRET', 'store the secret in SSM or Secrets Manager and set WOODPECKER_AGENT_SECRET_REF');
  refuseInDaemon(e, 'WOODPECKER_MAX_WORKFLOWS', "each pool's concurrency sets it, so the planner and the agent agree");
  const cfg: Omit<WoodpeckerCiConfig, 'token'> = {
    kind: 'woodpecker',
    serverUrl,
    grpcAddr: e.host('WOODPECKER_GRPC_ADDR', 'the gRPC address agents connect to, e.g. ci.example.com:9000'),
    grpcSecure: e.bool('WOODPECKER_GRPC_SECURE'),
    agentSecretRef: e.secretRef('WOODPECKER_AGENT_SECRET_REF', 'the Woodpecker agent secret'),
    agentImage: e.optional('WOODPECKER_AGENT_IMAGE') ?? DEFAULT_WOODPECKER_AGENT_IMAGE,
    agentStopTimeoutSeconds: e.seconds('WOODPECKER_AGENT_STOP_TIMEOUT', 30, 86_400),
    mountDockerSocket: true,
    requestTimeoutMs,
  };
  return withHidden(cfg, 'token', token) as WoodpeckerCiConfig;
}

function loadGocd(e: Env, requestTimeoutMs: number): GocdCiConfig {
  const serverUrl = e.url('GOCD_SERVER_URL', 'the GoCD server URL ending in /go, e.g. https://gocd.example.com/go');
  if (!serverUrl.endsWith('/go')) throw invalid('GOCD_SERVER_URL', 'must end in /go (GoCD serves its API under /go), e.g. https://gocd.example.com/go');
  let auth: HttpAuth;
  if (e.has('GOCD_TOKEN')) {
    if (e.has('GOCD_USERNAME') || e.has('GOCD_PASSWORD')) throw invalid('GOCD_TOKEN', 'set either GOCD_TOKEN or GOCD_USERNAME and GOCD_PASSWORD, not both');
    auth = { kind: 'bearer', token: e.secret('GOCD_TOKEN', 'a GoCD access token') };
  } else if (e.has('GOCD_USERNAME') || e.has('GOCD_PASSWORD')) {
    auth = { kind: 'basic', user: e.required('GOCD_USERNAME', 'the GoCD user for GOCD_PASSWORD'), password: e.secret('GOCD_PASSWORD', 'the password of GOCD_USERNAME') };
  } else {
    throw invalid('GOCD_TOKEN', "required: an administrator's access token (or GOCD_USERNAME and GOCD_PASSWORD)");
  }
  refuseInDaemon(e, 'GOCD_AUTO_REGISTER_KEY', 'store the key in SSM or Secrets Manager and set GOCD_AUTO_REGISTER_KEY_REF');
  const agentServerUrl = e.has('GOCD_AGENT_SERVER_URL') ? e.url('GOCD_AGENT_SERVER_URL', 'the URL agents reach the server at, ending in /go') : serverUrl;
  const cfg: Omit<GocdCiConfig, 'auth'> = {
    kind: 'gocd',
    serverUrl,
    agentServerUrl,
    autoRegisterKeyRef: e.secretRef('GOCD_AUTO_REGISTER_KEY_REF', "the server's agent auto-register key"),
    // No default: a GoCD agent must run the server's version.
    agentImage: e.required('GOCD_AGENT_IMAGE', "the agent image at the server's version, e.g. gocd/gocd-agent-ubuntu-24.04:v25.3.0"),
    agentStopTimeoutSeconds: e.seconds('GOCD_AGENT_STOP_TIMEOUT', 30, 86_400),
    mountDockerSocket: e.bool('GOCD_AGENT_DOCKER_SOCKET') ?? false,
    requestTimeoutMs,
  };
  return withHidden(cfg, 'auth', auth) as GocdCiConfig;
}

function withHidden<T extends object>(obj: T, key: string, value: unknown): T {
  Object.defineProperty(obj, key, { value, enumerable: false, writable: false });
  return obj;
}

export interface QueueSourceDeps {
  clock: Clock;
  logger: Logger;
  dispatcher?: Dispatcher;
  /** Overrides ci.requestTimeoutMs (e.g. from runtime.pollTimeoutSeconds). */
  timeoutMs?: number;
}

export function createQueueSource(ci: CiConfig, deps: QueueSourceDeps): QueueSource {
  const common = {
    server: ci.serverUrl,
    timeoutMs: deps.timeoutMs ?? ci.requestTimeoutMs,
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
  };
  switch (ci.kind) {
    case 'drone':
      return createDroneSource({ ...common, token: ci.token });
    case 'woodpecker':
      return createWoodpeckerSource({ ...common, token: ci.token });
    case 'gocd':
      return createGocdSource({ ...common, auth: ci.auth });
  }
}

/** What the cloud side starts on an instance of `pool`: image, environment, secret references. */
export function agentSpecFor(ci: CiConfig, pool: PoolConfig): AgentSpec {
  const base = { image: ci.agentImage, stopTimeoutSeconds: ci.agentStopTimeoutSeconds, mountDockerSocket: ci.mountDockerSocket };
  const d = pool.demand;
  const labels = Object.keys(d.labels).sort().map((k) => [k, d.labels[k]!] as const);
  switch (ci.kind) {
    case 'drone': {
      for (const [k, v] of labels) {
        if (/[,:]/.test(k) || v.includes(',')) throw poolInvalid(pool, `label "${k}" cannot be written to DRONE_RUNNER_LABELS (no ',' or ':' in keys, no ',' in values)`);
      }
      const env: Record<string, string> = {
        DRONE_RPC_PROTO: ci.rpcProto,
        DRONE_RPC_HOST: ci.rpcHost,
        DRONE_RUNNER_CAPACITY: String(pool.concurrency),
        DRONE_PLATFORM_OS: d.os || 'linux',
        DRONE_PLATFORM_ARCH: d.arch || 'amd64',
      };
      if (d.variant) env['DRONE_PLATFORM_VARIANT'] = d.variant;
      if (d.kernel) env['DRONE_PLATFORM_KERNEL'] = d.kernel;
      if (labels.length > 0) env['DRONE_RUNNER_LABELS'] = labels.map(([k, v]) => `${k}:${v}`).join(',');
      return { ...base, env, secretRefs: { DRONE_RPC_SECRET: ci.rpcSecretRef }, nameVariable: 'DRONE_RUNNER_NAME' };
    }
    case 'woodpecker': {
      if (d.kernel) throw poolInvalid(pool, 'Woodpecker has no kernel filter; remove demand.kernel');
      for (const [k, v] of labels) {
        if (/[,=]/.test(k) || v.includes(',')) throw poolInvalid(pool, `label "${k}" cannot be written to WOODPECKER_AGENT_LABELS (no ',' or '=' in keys, no ',' in values)`);
        if (k === 'platform') throw poolInvalid(pool, 'set the platform with demand.os/arch/variant, not a "platform" label');
      }
      const platform = [d.os || 'linux', d.arch || 'amd64', d.variant].filter((s) => s).join('/');
      const env: Record<string, string> = {
        WOODPECKER_SERVER: ci.grpcAddr,
        WOODPECKER_MAX_WORKFLOWS: String(pool.concurrency),
        WOODPECKER_BACKEND: 'docker',
        WOODPECKER_AGENT_LABELS: [`platform=${platform}`, ...labels.map(([k, v]) => `${k}=${v}`)].join(','),
      };
      if (ci.grpcSecure !== undefined) env['WOODPECKER_GRPC_SECURE'] = String(ci.grpcSecure);
      return { ...base, env, secretRefs: { WOODPECKER_AGENT_SECRET: ci.agentSecretRef }, nameVariable: 'WOODPECKER_HOSTNAME' };
    }
    case 'gocd': {
      if ((d.os || 'linux') !== 'linux' || (d.arch || 'amd64') !== 'amd64' || d.variant || d.kernel) {
        throw poolInvalid(pool, 'GoCD jobs demand no platform; express it as a resource label (e.g. arm64: "true") and keep demand.os/arch at linux/amd64');
      }
      const resources: string[] = [];
      let environments = '';
      for (const [k, v] of labels) {
        if (k === GOCD_ENVIRONMENT_LABEL) environments = v;
        else if (v === 'true' && !k.includes(',')) resources.push(k);
        else throw poolInvalid(pool, `label "${k}" must be a GoCD resource ("${k}": "true") or "${GOCD_ENVIRONMENT_LABEL}"`);
      }
      const env: Record<string, string> = { GO_SERVER_URL: ci.agentServerUrl };
      if (resources.length > 0) env['AGENT_AUTO_REGISTER_RESOURCES'] = resources.join(',');
      if (environments) env['AGENT_AUTO_REGISTER_ENVIRONMENTS'] = environments;
      return { ...base, env, secretRefs: { AGENT_AUTO_REGISTER_KEY: ci.autoRegisterKeyRef }, nameVariable: 'AGENT_AUTO_REGISTER_HOSTNAME' };
    }
  }
}

function poolInvalid(pool: PoolConfig, problem: string): DdaError {
  return new DdaError('CONFIG_INVALID', `pools.${pool.name}: ${problem}`, { pool: pool.name });
}
