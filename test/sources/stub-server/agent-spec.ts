import type { AgentSpec } from '../../../src/ports/agent-spec.js';
import { agentBase, poolInvalid, sortedLabels, type AgentPool } from '../../../src/sources/ci-server.js';
import type { StubSettings } from './settings.js';

export function stubAgentSpec(s: StubSettings, pool: AgentPool): AgentSpec {
  if (pool.demand.arch !== 'amd64') throw poolInvalid(pool, 'the stub agent runs on amd64 only');
  const env = { STUB_URL: s.serverUrl, STUB_CAPACITY: String(pool.concurrency), STUB_LABELS: sortedLabels(pool).map(([k, v]) => `${k}=${v}`).join(',') };
  return { ...agentBase(s), env, secretRefs: { STUB_AGENT_TOKEN: s.agentTokenRef }, nameVariable: 'STUB_AGENT_NAME' };
}
