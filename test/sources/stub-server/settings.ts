import { z } from 'zod';
import * as env from '../../../src/config/env.js';
import { CI_COMMON_ENV, ciCommon, type CiSettings } from '../../../src/sources/ci-server.js';

/** A made-up fourth CI server, laid out as a real adapter folder would be (docs/ci-servers.md, "Adding a CI server"). */
export interface StubSettings extends CiSettings {
  readonly kind: 'stub';
  /** Non-enumerable. */
  readonly token: string;
  agentTokenRef: string;
}

const variables = {
  STUB_SERVER_URL: env.url({ hint: 'the stub server URL', credentials: 'use STUB_TOKEN' }),
  STUB_TOKEN: env.secret('an API token'),
  STUB_AGENT_TOKEN_REF: env.secretRef('the agent token'),
  STUB_AGENT_IMAGE: env.withDefault('example/stub-agent:1'),
};

export const STUB_VARIABLES = Object.keys(variables);
export const STUB_ENV = env.envNames(variables);

const stubEnv = z.object({ ...CI_COMMON_ENV, ...variables }).transform((e): StubSettings => {
  const settings: Omit<StubSettings, 'token'> = {
    kind: 'stub',
    serverUrl: e.STUB_SERVER_URL,
    agentTokenRef: e.STUB_AGENT_TOKEN_REF,
    agentImage: e.STUB_AGENT_IMAGE,
    agentStopTimeoutSeconds: 30,
    mountDockerSocket: false,
    ...ciCommon(e),
  };
  return env.withSecret(settings, 'token', e.STUB_TOKEN);
});

export function loadStubSettings(vars: env.Env): StubSettings {
  return env.parseEnv(stubEnv, vars);
}
