import type { PoolSpec } from '../domain/pool.js';
import { drain, hold, releasable } from './decide.js';
import type { Decision, InstanceView } from './types.js';

/** Stopping: no launch; idle agents and boots nothing runs on are let go, busy agents finish. */
export function stopping(pool: PoolSpec, instances: readonly InstanceView[]): Decision[] {
  const out = instances.filter(releasable).map((i) => drain(i, 'daemon stopping: no more work is taken'));
  if (instances.some((i) => i.phase === 'busy')) out.push(hold(pool.name, 'stopping', 'daemon stopping: busy agents finish their builds'));
  return out;
}
