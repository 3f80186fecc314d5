import { z } from 'zod';
import { invalid, isSet, parseEnv, type Env } from '../config/env.js';
import { CI_COMMON_ENV, type CiServer, type CiSettings } from './ci-server.js';
import { drone } from './drone/index.js';
import { gocd } from './gocd/index.js';
import { woodpecker } from './woodpecker/index.js';

/** Every CI server the daemon can read, in the order their variables are checked. */
export const CI_SERVERS: readonly CiServer[] = [drone, woodpecker, gocd];

export interface SelectedCiServer<S extends CiSettings = CiSettings> {
  server: CiServer<S>;
  settings: S;
}

/**
 * The CI server the environment configures, with its settings; undefined when none is (the
 * daemon then runs the simulator). At most one server may be configured, and a variable of a
 * server whose primary variable is unset is an error naming it: a half-configured server is a
 * mistake, not a request for the simulator. `servers` is for tests.
 */
export function selectCiServer(env: Env, servers: readonly CiServer[] = CI_SERVERS): SelectedCiServer | undefined {
  const chosen = servers.filter((s) => isSet(env, s.primaryVariable));
  if (chosen.length > 1) throw invalid(chosen.map((s) => s.primaryVariable).join(', '), 'only one CI server may be configured; unset all but one');
  for (const s of servers) {
    if (chosen.includes(s)) continue;
    const stray = [...s.variables, ...s.env.secrets.map((v) => `${v}_FILE`)].find((v) => isSet(env, v));
    if (stray) throw invalid(stray, `is set but ${s.primaryVariable} is not: set ${s.primaryVariable} or unset ${stray}`);
  }
  const server = chosen[0];
  if (!server) {
    // Checked even without a server, as a typo here should not wait for the day one is configured.
    parseEnv(z.object(CI_COMMON_ENV), env);
    return undefined;
  }
  return { server, settings: server.loadSettings(env) };
}

/** "DRONE_SERVER_HOST (or WOODPECKER_SERVER, or GOCD_SERVER_URL)", for messages that say how to configure one. */
export function primaryVariables(servers: readonly CiServer[] = CI_SERVERS): string {
  const [first, ...rest] = servers.map((s) => s.primaryVariable);
  return rest.length === 0 ? (first ?? '') : `${first} (or ${rest.join(', or ')})`;
}
