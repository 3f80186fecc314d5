import { z } from 'zod';
import * as env from '../../config/env.js';
import { CI_COMMON_ENV, ciCommon, type CiSettings } from '../ci-server.js';

/** Drone, from the variables of drone/autoscaler. Reference: docs/ci-servers.md. */
export interface DroneSettings extends CiSettings {
  readonly kind: 'drone';
  /** `proto://host` of the API the daemon polls. */
  serverUrl: string;
  /** Non-enumerable. */
  readonly token: string;
  rpcProto: 'http' | 'https';
  rpcHost: string;
  rpcSecretRef: string;
}

export const DEFAULT_DRONE_AGENT_IMAGE = 'drone/drone-runner-docker:1';

const variables = {
  DRONE_SERVER_HOST: env.host('the Drone server, e.g. drone.example.com'),
  DRONE_SERVER_PROTO: env.proto(),
  DRONE_SERVER_TOKEN: env.secret("an admin user's API token"),
  DRONE_RPC_PROTO: env.proto(),
  DRONE_RPC_HOST: env.optionalHost('the address runners reach the server at'),
  DRONE_RPC_SECRET_REF: env.secretRef('the Drone RPC secret'),
  DRONE_AGENT_IMAGE: env.withDefault(DEFAULT_DRONE_AGENT_IMAGE),
  DRONE_AGENT_STOP_TIMEOUT: env.seconds(120, 86_400),
};

/** The runner's own variables, refused so a secret or a global capacity is not given to the daemon by mistake. */
const refused = {
  DRONE_RPC_SECRET: env.refused('store the secret in SSM or Secrets Manager and set DRONE_RPC_SECRET_REF'),
  DRONE_RUNNER_CAPACITY: env.refused("each pool's concurrency sets it, so the planner and the runner agree"),
};

export const DRONE_VARIABLES = Object.keys(variables);

/** Every variable of the adapter, refused ones and `_FILE` twins included, and which hold secrets. */
export const DRONE_ENV = env.envNames({ ...refused, ...variables });

export const droneEnv = z.object({ ...CI_COMMON_ENV, ...refused, ...variables }).transform((e): DroneSettings => {
  const proto = e.DRONE_SERVER_PROTO ?? 'https';
  const settings: Omit<DroneSettings, 'token'> = {
    kind: 'drone',
    serverUrl: `${proto}://${e.DRONE_SERVER_HOST}`,
    rpcProto: e.DRONE_RPC_PROTO ?? proto,
    rpcHost: e.DRONE_RPC_HOST ?? e.DRONE_SERVER_HOST,
    rpcSecretRef: e.DRONE_RPC_SECRET_REF,
    agentImage: e.DRONE_AGENT_IMAGE,
    agentStopTimeoutSeconds: e.DRONE_AGENT_STOP_TIMEOUT,
    mountDockerSocket: true,
    ...ciCommon(e),
  };
  return env.withSecret(settings, 'token', e.DRONE_SERVER_TOKEN);
});

export function loadDroneSettings(vars: env.Env): DroneSettings {
  return env.parseEnv(droneEnv, vars);
}
