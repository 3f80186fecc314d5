import { z } from 'zod';
import * as env from '../../config/env.js';
import { CI_COMMON_ENV, ciCommon, type CiSettings } from '../ci-server.js';
import type { HttpAuth } from '../http/request.js';

/** GoCD. Reference: docs/ci-servers.md. */
export interface GocdSettings extends CiSettings {
  readonly kind: 'gocd';
  /** Ends in `/go`. */
  serverUrl: string;
  /** Non-enumerable. */
  readonly auth: HttpAuth;
  /** GO_SERVER_URL for agents (GOCD_AGENT_SERVER_URL, default serverUrl). */
  agentServerUrl: string;
  autoRegisterKeyRef: string;
}

const variables = {
  GOCD_SERVER_URL: env
    .url({ hint: 'the GoCD server URL ending in /go, e.g. https://gocd.example.com/go', credentials: 'use the token variable' })
    .refine((u) => u.endsWith('/go'), { error: 'must end in /go (GoCD serves its API under /go), e.g. https://gocd.example.com/go' }),
  GOCD_TOKEN: env.optionalSecret(),
  GOCD_USERNAME: env.optional(),
  GOCD_PASSWORD: env.optionalSecret(),
  GOCD_AUTO_REGISTER_KEY_REF: env.secretRef("the server's agent auto-register key"),
  // No default: a GoCD agent must run the server's version.
  GOCD_AGENT_IMAGE: env.required("the agent image at the server's version, e.g. gocd/gocd-agent-ubuntu-24.04:v25.3.0"),
  GOCD_AGENT_SERVER_URL: env.optionalUrl({ hint: 'the URL agents reach the server at, ending in /go', credentials: 'use the token variable' }),
  GOCD_AGENT_STOP_TIMEOUT: env.seconds(30, 86_400),
  GOCD_AGENT_DOCKER_SOCKET: env.flag(),
};

/** The agent's own key, refused so the secret is not given to the daemon by mistake. */
const refused = {
  GOCD_AUTO_REGISTER_KEY: env.refused('store the key in SSM or Secrets Manager and set GOCD_AUTO_REGISTER_KEY_REF'),
};

export const GOCD_VARIABLES = Object.keys(variables);

/** Every variable of the adapter, refused ones and `_FILE` twins included, and which hold secrets. */
export const GOCD_ENV = env.envNames({ ...refused, ...variables });

export const gocdEnv = z.object({ ...CI_COMMON_ENV, ...refused, ...variables }).transform((e, ctx): GocdSettings => {
  let auth: HttpAuth;
  if (e.GOCD_TOKEN !== undefined) {
    if (e.GOCD_USERNAME !== undefined || e.GOCD_PASSWORD !== undefined) return env.problem(ctx, 'set either GOCD_TOKEN or GOCD_USERNAME and GOCD_PASSWORD, not both', 'GOCD_TOKEN');
    auth = { kind: 'bearer', token: e.GOCD_TOKEN };
  } else if (e.GOCD_USERNAME !== undefined || e.GOCD_PASSWORD !== undefined) {
    if (e.GOCD_USERNAME === undefined) return env.problem(ctx, 'required: the GoCD user for GOCD_PASSWORD', 'GOCD_USERNAME');
    if (e.GOCD_PASSWORD === undefined) return env.problem(ctx, 'required: the password of GOCD_USERNAME', 'GOCD_PASSWORD');
    auth = { kind: 'basic', user: e.GOCD_USERNAME, password: e.GOCD_PASSWORD };
  } else {
    return env.problem(ctx, "required: an administrator's access token (or GOCD_USERNAME and GOCD_PASSWORD)", 'GOCD_TOKEN');
  }
  const settings: Omit<GocdSettings, 'auth'> = {
    kind: 'gocd',
    serverUrl: e.GOCD_SERVER_URL,
    agentServerUrl: e.GOCD_AGENT_SERVER_URL ?? e.GOCD_SERVER_URL,
    autoRegisterKeyRef: e.GOCD_AUTO_REGISTER_KEY_REF,
    agentImage: e.GOCD_AGENT_IMAGE,
    agentStopTimeoutSeconds: e.GOCD_AGENT_STOP_TIMEOUT,
    mountDockerSocket: e.GOCD_AGENT_DOCKER_SOCKET ?? false,
    ...ciCommon(e),
  };
  return env.withSecret(settings, 'auth', auth);
});

export function loadGocdSettings(vars: env.Env): GocdSettings {
  return env.parseEnv(gocdEnv, vars);
}
