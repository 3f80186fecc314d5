import type { CiServer } from '../ci-server.js';
import { gocdAgentSpec } from './agent-spec.js';
import { createGocdSource } from './gocd-source.js';
import { GOCD_ENV, GOCD_VARIABLES, loadGocdSettings, type GocdSettings } from './settings.js';

export const gocd: CiServer<GocdSettings> = {
  kind: 'gocd',
  primaryVariable: 'GOCD_SERVER_URL',
  variables: GOCD_VARIABLES,
  env: GOCD_ENV,
  loadSettings: loadGocdSettings,
  createSource: (s, deps) => createGocdSource({ ...deps, server: s.serverUrl, auth: s.auth, timeoutMs: s.requestTimeoutMs }),
  agentSpec: gocdAgentSpec,
};
