import type { Decision, World } from './types.js';

/**
 * Cloud blindness: while the fleet cannot be described, what was launched before is not
 * known, so a launch could buy it twice; each launch becomes a hold in its place. Drains and
 * renewals go on: they are decided from the instances we track, not from the describe.
 */
export function cloudBlind(world: Pick<World, 'now' | 'cloud'>, decisions: readonly Decision[]): Decision[] {
  const c = world.cloud;
  if (!c || c.known) return [...decisions];
  const blind = `cloud unknown for ${Math.round((world.now - c.since) / 1000)} s (${c.error}): no launches`;
  return decisions.map((d): Decision => (d.kind === 'launch' ? { kind: 'hold', pool: d.pool, code: 'cloud-unknown', reason: `${blind} (${d.reason})` } : d));
}
