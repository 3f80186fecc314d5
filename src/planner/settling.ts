import type { Decision, World } from './types.js';

/**
 * Settling after a start: describe calls are eventually consistent, so an instance a previous
 * daemon launched just before it stopped can be missing from this daemon's first describes.
 * Until `settling.until` a launch would risk buying it twice (past the pool's max and the
 * budget), so each launch becomes a hold in its place, carrying the launch's own reason.
 */
export function settling(world: Pick<World, 'now' | 'settling'>, decisions: readonly Decision[]): Decision[] {
  const s = world.settling;
  if (!s || world.now >= s.until) return [...decisions];
  const wait = `fleet not settled since start: a describe may still omit instances launched in the last ${Math.round(s.graceMs / 1000)} s; launch in ${Math.ceil((s.until - world.now) / 1000)} s`;
  return decisions.map((d): Decision => (d.kind === 'launch' ? { kind: 'hold', pool: d.pool, code: 'fleet-settling', reason: `${wait} (${d.reason})` } : d));
}
