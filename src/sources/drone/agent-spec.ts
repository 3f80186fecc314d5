import type { AgentSpec } from '../../ports/agent-spec.js';
import { agentBase, poolInvalid, sortedLabels, type AgentPool } from '../ci-server.js';
import type { DroneSettings } from './settings.js';

/** drone-runner-docker for `pool`: RPC address, capacity = the pool's concurrency, platform, labels. */
export function droneAgentSpec(s: DroneSettings, pool: AgentPool): AgentSpec {
  const d = pool.demand;
  const labels = sortedLabels(pool);
  for (const [k, v] of labels) {
    if (/[,:]/.test(k) || v.includes(',')) throw poolInvalid(pool, `label "${k}" cannot be written to DRONE_RUNNER_LABELS (no ',' or ':' in keys, no ',' in values)`);
  }
  const env: Record<string, string> = {
    DRONE_RPC_PROTO: s.rpcProto,
    DRONE_RPC_HOST: s.rpcHost,
    DRONE_RUNNER_CAPACITY: String(pool.concurrency),
    DRONE_PLATFORM_OS: d.os || 'linux',
    DRONE_PLATFORM_ARCH: d.arch || 'amd64',
  };
  if (d.variant) env['DRONE_PLATFORM_VARIANT'] = d.variant;
  if (d.kernel) env['DRONE_PLATFORM_KERNEL'] = d.kernel;
  if (labels.length > 0) env['DRONE_RUNNER_LABELS'] = labels.map(([k, v]) => `${k}:${v}`).join(',');
  return { ...agentBase(s), env, secretRefs: { DRONE_RPC_SECRET: s.rpcSecretRef }, nameVariable: 'DRONE_RUNNER_NAME' };
}
