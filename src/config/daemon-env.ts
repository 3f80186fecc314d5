import { z } from 'zod';
import * as env from './env.js';

/**
 * The daemon's own environment: logging, the status server, the inspector. The CI server's
 * and the cloud's variables belong to their adapters. Reference: docs/configuration.md.
 */
export interface DaemonSettings {
  logLevel: LogLevel;
  /** DDA_HTTP_LISTEN: where the status server listens; undefined = no status server. */
  httpListen: env.ListenAddress | undefined;
  /** `run --inspect`: the inspector's port on 127.0.0.1. */
  inspectPort: number;
  /** DDA_RESTART_INTERRUPTED_BUILDS: restart, once, a build whose agent the infrastructure took (spot interruption, …). */
  restartInterruptedBuilds: boolean;
  /**
   * DDA_REQUIRE_CI_SERVER: `run` with no CI server configured refuses (exit 2) instead of
   * replaying the demo. The container image sets it: a demo that ends with exit 0 would be
   * restarted by an orchestrator in a loop, and would hide the missing setting.
   */
  requireCiServer: boolean;
  /** DDA_HTTP_TOKEN: the bearer token the status server asks of clients beyond loopback. Non-enumerable. */
  readonly httpToken: string | undefined;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_INSPECT_PORT = 8383;

const variables = {
  DDA_LOG_LEVEL: env.oneOf(LOG_LEVELS, 'info', `must be one of ${LOG_LEVELS.join(', ')}, not "{value}"`),
  DDA_HTTP_LISTEN: env.listen('127.0.0.1'),
  DDA_INSPECT_PORT: env.port(DEFAULT_INSPECT_PORT),
  DDA_HTTP_TOKEN: env.optionalSecret(),
  DDA_RESTART_INTERRUPTED_BUILDS: env.flag(),
  DDA_REQUIRE_CI_SERVER: env.flag(),
};

export const daemonEnv = z.object(variables).transform((e): DaemonSettings => {
  const settings: Omit<DaemonSettings, 'httpToken'> = {
    logLevel: e.DDA_LOG_LEVEL!,
    httpListen: e.DDA_HTTP_LISTEN,
    inspectPort: e.DDA_INSPECT_PORT,
    restartInterruptedBuilds: e.DDA_RESTART_INTERRUPTED_BUILDS ?? false,
    requireCiServer: e.DDA_REQUIRE_CI_SERVER ?? false,
  };
  return env.withSecret(settings, 'httpToken', e.DDA_HTTP_TOKEN);
});

export const DAEMON_ENV = env.envNames(variables);

/** A status-page token shorter than this is guessable by anyone who can reach the port. */
const MIN_TOKEN = 16;

export function loadDaemonSettings(vars: env.Env): DaemonSettings {
  const settings = env.parseEnv(daemonEnv, vars);
  const token = settings.httpToken;
  if (token !== undefined && token.trim().length < MIN_TOKEN) {
    const from = vars.DDA_HTTP_TOKEN_FILE !== undefined ? 'DDA_HTTP_TOKEN_FILE' : 'DDA_HTTP_TOKEN';
    throw env.invalid(from, `must be at least ${MIN_TOKEN} characters (value not shown), e.g. from: openssl rand -hex 32`);
  }
  return settings;
}
