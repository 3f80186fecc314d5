import type { CiServer } from '../../../src/sources/ci-server.js';
import { stubAgentSpec } from './agent-spec.js';
import { loadStubSettings, STUB_ENV, STUB_VARIABLES, type StubSettings } from './settings.js';
import { createStubSource } from './stub-source.js';

export const stub: CiServer<StubSettings> = {
  kind: 'stub',
  primaryVariable: 'STUB_SERVER_URL',
  variables: STUB_VARIABLES,
  env: STUB_ENV,
  loadSettings: loadStubSettings,
  createSource: (s, deps) => createStubSource({ ...deps, server: s.serverUrl, token: s.token, timeoutMs: s.requestTimeoutMs }),
  agentSpec: stubAgentSpec,
};
