import type { AgentSpec } from '../../ports/agent-spec.js';
import { agentBase, poolInvalid, sortedLabels, type AgentPool } from '../ci-server.js';
import { GOCD_ENVIRONMENT_LABEL } from './gocd-source.js';
import type { GocdSettings } from './settings.js';

/**
 * The GoCD agent for `pool`: the pool's labels turned back into auto-register resources and
 * environments (the reverse of the source's demand mapping), so the agents match the pool exactly.
 */
export function gocdAgentSpec(s: GocdSettings, pool: AgentPool): AgentSpec {
  const d = pool.demand;
  if ((d.os || 'linux') !== 'linux' || (d.arch || 'amd64') !== 'amd64' || d.variant || d.kernel) {
    throw poolInvalid(pool, 'GoCD jobs demand no platform; express it as a resource label (e.g. arm64: "true") and keep demand.os/arch at linux/amd64');
  }
  const resources: string[] = [];
  let environments = '';
  for (const [k, v] of sortedLabels(pool)) {
    if (k === GOCD_ENVIRONMENT_LABEL) environments = v;
    else if (v === 'true' && !k.includes(',')) resources.push(k);
    else throw poolInvalid(pool, `label "${k}" must be a GoCD resource ("${k}": "true") or "${GOCD_ENVIRONMENT_LABEL}"`);
  }
  const env: Record<string, string> = { GO_SERVER_URL: s.agentServerUrl };
  if (resources.length > 0) env['AGENT_AUTO_REGISTER_RESOURCES'] = resources.join(',');
  if (environments) env['AGENT_AUTO_REGISTER_ENVIRONMENTS'] = environments;
  return { ...agentBase(s), env, secretRefs: { AGENT_AUTO_REGISTER_KEY: s.autoRegisterKeyRef }, nameVariable: 'AGENT_AUTO_REGISTER_HOSTNAME' };
}
