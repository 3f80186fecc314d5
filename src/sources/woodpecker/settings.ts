import { z } from 'zod';
import * as env from '../../config/env.js';
import { CI_COMMON_ENV, ciCommon, type CiSettings } from '../ci-server.js';

/** Woodpecker, from the variables of woodpecker-ci/autoscaler. Reference: docs/ci-servers.md. */
export interface WoodpeckerSettings extends CiSettings {
  readonly kind: 'woodpecker';
  /** Non-enumerable. */
  readonly token: string;
  /** host:port of the gRPC endpoint agents connect to (the agent's WOODPECKER_SERVER). */
  grpcAddr: string;
  grpcSecure: boolean | undefined;
  agentSecretRef: string;
}

export const DEFAULT_WOODPECKER_AGENT_IMAGE = 'woodpeckerci/woodpecker-agent:v3';

const variables = {
  WOODPECKER_SERVER: env.url({ hint: 'the Woodpecker server URL, e.g. https://ci.example.com', credentials: 'use the token variable' }),
  WOODPECKER_TOKEN: env.secret("an admin user's personal access token"),
  WOODPECKER_GRPC_ADDR: env.host('the gRPC address agents connect to, e.g. ci.example.com:9000'),
  WOODPECKER_GRPC_SECURE: env.flag(),
  WOODPECKER_AGENT_SECRET_REF: env.secretRef('the Woodpecker agent secret'),
  WOODPECKER_AGENT_IMAGE: env.withDefault(DEFAULT_WOODPECKER_AGENT_IMAGE),
  WOODPECKER_AGENT_STOP_TIMEOUT: env.seconds(30, 86_400),
};

/** The agent's own variables, refused so a secret or a global capacity is not given to the daemon by mistake. */
const refused = {
  WOODPECKER_AGENT_SECRET: env.refused('store the secret in SSM or Secrets Manager and set WOODPECKER_AGENT_SECRET_REF'),
  WOODPECKER_MAX_WORKFLOWS: env.refused("each pool's concurrency sets it, so the planner and the agent agree"),
};

export const WOODPECKER_VARIABLES = Object.keys(variables);

/** Every variable of the adapter, refused ones and `_FILE` twins included, and which hold secrets. */
export const WOODPECKER_ENV = env.envNames({ ...refused, ...variables });

export const woodpeckerEnv = z.object({ ...CI_COMMON_ENV, ...refused, ...variables }).transform((e): WoodpeckerSettings => {
  const settings: Omit<WoodpeckerSettings, 'token'> = {
    kind: 'woodpecker',
    serverUrl: e.WOODPECKER_SERVER,
    grpcAddr: e.WOODPECKER_GRPC_ADDR,
    grpcSecure: e.WOODPECKER_GRPC_SECURE,
    agentSecretRef: e.WOODPECKER_AGENT_SECRET_REF,
    agentImage: e.WOODPECKER_AGENT_IMAGE,
    agentStopTimeoutSeconds: e.WOODPECKER_AGENT_STOP_TIMEOUT,
    mountDockerSocket: true,
    ...ciCommon(e),
  };
  return env.withSecret(settings, 'token', e.WOODPECKER_TOKEN);
});

export function loadWoodpeckerSettings(vars: env.Env): WoodpeckerSettings {
  return env.parseEnv(woodpeckerEnv, vars);
}
