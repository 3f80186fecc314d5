import type { CiServer } from '../ci-server.js';
import { woodpeckerAgentSpec } from './agent-spec.js';
import { loadWoodpeckerSettings, WOODPECKER_ENV, WOODPECKER_VARIABLES, type WoodpeckerSettings } from './settings.js';
import { createWoodpeckerSource } from './woodpecker-source.js';

export const woodpecker: CiServer<WoodpeckerSettings> = {
  kind: 'woodpecker',
  primaryVariable: 'WOODPECKER_SERVER',
  variables: WOODPECKER_VARIABLES,
  env: WOODPECKER_ENV,
  loadSettings: loadWoodpeckerSettings,
  createSource: (s, deps) => createWoodpeckerSource({ ...deps, server: s.serverUrl, token: s.token, timeoutMs: s.requestTimeoutMs }),
  agentSpec: woodpeckerAgentSpec,
};
