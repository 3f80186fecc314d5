import type { CiServer } from '../ci-server.js';
import { droneAgentSpec } from './agent-spec.js';
import { createDroneSource } from './drone-source.js';
import { DRONE_ENV, DRONE_VARIABLES, loadDroneSettings, type DroneSettings } from './settings.js';

export const drone: CiServer<DroneSettings> = {
  kind: 'drone',
  primaryVariable: 'DRONE_SERVER_HOST',
  variables: DRONE_VARIABLES,
  env: DRONE_ENV,
  loadSettings: loadDroneSettings,
  createSource: (s, deps) => createDroneSource({ ...deps, server: s.serverUrl, token: s.token, timeoutMs: s.requestTimeoutMs }),
  agentSpec: droneAgentSpec,
};
