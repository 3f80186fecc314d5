import { AWS_ENV, AWS_POOL_VARIABLES, loadAwsConfig, type AwsConfig } from '../cloud/aws/settings.js';
import type { Config } from '../config/config.js';
import { DAEMON_ENV, loadDaemonSettings, type DaemonSettings } from '../config/daemon-env.js';
import { checkNames, invalid, isSet, type Env, type NameScope } from '../config/env.js';
import { CI_COMMON_NAMES, type CiServer } from '../sources/ci-server.js';
import { CI_SERVERS, primaryVariables, selectCiServer, type SelectedCiServer } from '../sources/registry.js';

/** Every setting the environment gives, validated: the daemon's own, the CI server's, the cloud's. */
export interface Environment {
  daemon: DaemonSettings;
  /** Undefined: no CI server configured (`run` replays the bundled trace). */
  ci: SelectedCiServer | undefined;
  /** Undefined: the simulated cloud. */
  aws: AwsConfig | undefined;
  /** Lines worth a warning that are no reason to refuse to start. */
  warnings: string[];
}

/**
 * Read and check the whole environment before anything starts: every variable by its schema,
 * and every name against the schemas (an unknown DDA_* variable is an error naming the nearest
 * known one). The first problem is a one-line CONFIG_INVALID naming the variable; no value of a
 * secret is ever in it. `config` is checked against the per-pool variables.
 */
export function loadEnvironment(vars: Env, config: Config, servers: readonly CiServer[] = CI_SERVERS): Environment {
  const warnings = checkNames(vars, nameScopes(servers));
  const daemon = loadDaemonSettings(vars);
  const ci = selectCiServer(vars, servers);
  checkPoolVariables(vars, config);
  const aws = loadAwsConfig(vars);
  return { daemon, ci, aws, warnings };
}

/**
 * `run` with no CI server while DDA_REQUIRE_CI_SERVER is set (the container image sets it):
 * the line that says what to set, instead of the demo replay and an exit 0 an orchestrator
 * would answer with a restart, forever.
 */
export function checkCiServerRequired(e: Pick<Environment, 'daemon' | 'ci'>, servers: readonly CiServer[] = CI_SERVERS): void {
  if (e.ci || !e.daemon.requireCiServer) return;
  throw invalid(
    primaryVariables(servers),
    'required: no CI server is configured, and DDA_REQUIRE_CI_SERVER (set in the container image) refuses the demo replay; set the CI server\'s variables (Drone: DRONE_SERVER_HOST, DRONE_SERVER_TOKEN, DRONE_RPC_SECRET_REF; see docs/ci-servers.md and docs/deploy.md)',
  );
}

/** DDA_* is ours alone; each CI server's prefix and AWS_ are shared with other programs. */
function nameScopes(servers: readonly CiServer[]): NameScope[] {
  const ours = [...DAEMON_ENV.names, ...CI_COMMON_NAMES.names, ...AWS_ENV.names].filter((n) => n.startsWith('DDA_'));
  return [
    { prefix: 'DDA_', names: ours, patterns: [AWS_POOL_VARIABLES], owned: true },
    ...servers.map((s) => ({ prefix: prefixOf(s.env.names), names: s.env.names, owned: false })),
    { prefix: 'AWS_', names: [...AWS_ENV.names.filter((n) => n.startsWith('AWS_')), 'AWS_REGION', 'AWS_DEFAULT_REGION'], owned: false },
  ];
}

/** `DRONE_` of DRONE_SERVER_HOST, DRONE_RPC_HOST, …: the common start, up to its last `_`. */
function prefixOf(names: readonly string[]): string {
  let p = names[0] ?? '';
  for (const n of names) while (!n.startsWith(p)) p = p.slice(0, -1);
  return p.slice(0, p.lastIndexOf('_') + 1);
}

/** DDA_POOL_<NAME>_* must name a pool of the settings: an override of no pool would be ignored. */
function checkPoolVariables(vars: Env, config: Config): void {
  const pools = new Map(config.pools.map((p) => [p.name.toUpperCase().replace(/-/g, '_'), p.name]));
  for (const name of Object.keys(vars).sort()) {
    const m = /^DDA_POOL_([A-Z0-9_]+)_(AMI|INSTANCE_TYPES)$/.exec(name);
    if (!m || !isSet(vars, name) || pools.has(m[1]!)) continue;
    throw invalid(name, `no pool named "${m[1]!.toLowerCase().replace(/_/g, '-')}" in the settings (pools: ${config.pools.map((p) => p.name).join(', ')})`);
  }
}

/** Non-enumerable properties are where settings keep secrets: shown as "***" when set. */
function masked(o: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(o)) {
    const d = Object.getOwnPropertyDescriptor(o, key)!;
    out[key] = d.enumerable ? d.value : d.value === undefined ? null : '***';
  }
  return out;
}

/**
 * What `drone-dynamic-agents config` prints: the settings file over the defaults, and what the
 * environment gives, per adapter; secrets masked. `mode` is what `run` would do with them.
 */
export function effectiveSettings(config: Config, e: Environment): Record<string, unknown> {
  const mode = !e.ci && e.daemon.requireCiServer ? 'refused (no CI server configured, and DDA_REQUIRE_CI_SERVER is set: run exits 2)' : !e.ci ? 'replay (no CI server configured: run replays the bundled trace on the simulated cloud)' : e.aws ? 'aws' : 'dry run (no AWS settings: the simulated cloud, nothing is bought)';
  return {
    mode,
    daemon: masked(e.daemon),
    ci: e.ci ? masked(e.ci.settings) : null,
    cloud: e.aws ? { kind: 'aws', ...masked(e.aws) } : { kind: 'simulated' },
    settings: config,
  };
}

/** JSON with unset values shown as null rather than dropped: an effective setting that is unset says so. */
export function settingsJson(o: unknown): string {
  return JSON.stringify(o, (_k, v: unknown) => (v === undefined ? null : v), 2);
}
