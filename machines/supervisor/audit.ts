import { fleetOf, liveCount, type SupervisorSnapshot } from './selectors.js';

type ChildSnapshot = { status: string; context: { instanceId: string | null } };

/**
 * For invariant checks (the property tests, the soak): where the supervisor's fleet views and
 * its live instance actors disagree — a view per live child, naming the same instance. Empty
 * when they mirror each other. Kept here because only machines/ reads an actor's children.
 */
export function fleetMirrorGaps(s: SupervisorSnapshot): string[] {
  const gaps: string[] = [];
  const children = s.children as Record<string, { getSnapshot(): ChildSnapshot } | undefined>;
  if (liveCount(s) !== Object.keys(children).length) gaps.push(`supervisor keeps ${liveCount(s)} views but has ${Object.keys(children).length} actors`);
  for (const v of fleetOf(s)) {
    const c = children[v.key]?.getSnapshot();
    if (!c || c.status !== 'active') gaps.push(`view ${v.key} has no live actor`);
    else if (c.context.instanceId !== v.instanceId) gaps.push(`view ${v.key} names ${v.instanceId}, its actor ${c.context.instanceId}`);
  }
  return gaps;
}
