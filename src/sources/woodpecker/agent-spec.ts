import type { AgentSpec } from '../../ports/agent-spec.js';
import { agentBase, poolInvalid, sortedLabels, type AgentPool } from '../ci-server.js';
import type { WoodpeckerSettings } from './settings.js';

/** woodpecker-agent for `pool`: gRPC address, max workflows = the pool's concurrency, labels with the platform. */
export function woodpeckerAgentSpec(s: WoodpeckerSettings, pool: AgentPool): AgentSpec {
  const d = pool.demand;
  if (d.kernel) throw poolInvalid(pool, 'Woodpecker has no kernel filter; remove demand.kernel');
  const labels = sortedLabels(pool);
  for (const [k, v] of labels) {
    if (/[,=]/.test(k) || v.includes(',')) throw poolInvalid(pool, `label "${k}" cannot be written to WOODPECKER_AGENT_LABELS (no ',' or '=' in keys, no ',' in values)`);
    if (k === 'platform') throw poolInvalid(pool, 'set the platform with demand.os/arch/variant, not a "platform" label');
  }
  const platform = [d.os || 'linux', d.arch || 'amd64', d.variant].filter((p) => p).join('/');
  const env: Record<string, string> = {
    WOODPECKER_SERVER: s.grpcAddr,
    WOODPECKER_MAX_WORKFLOWS: String(pool.concurrency),
    WOODPECKER_BACKEND: 'docker',
    WOODPECKER_AGENT_LABELS: [`platform=${platform}`, ...labels.map(([k, v]) => `${k}=${v}`)].join(','),
  };
  if (s.grpcSecure !== undefined) env['WOODPECKER_GRPC_SECURE'] = String(s.grpcSecure);
  return { ...agentBase(s), env, secretRefs: { WOODPECKER_AGENT_SECRET: s.agentSecretRef }, nameVariable: 'WOODPECKER_HOSTNAME' };
}
