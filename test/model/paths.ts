import type { EventObject, Snapshot } from 'xstate';
import type { TestModel } from 'xstate/graph';

type Path<S extends Snapshot<unknown>, E extends EventObject> = ReturnType<TestModel<S, E, unknown>['getSimplePaths']>[number];

/**
 * Every simple path of a model, less those that are a prefix of another (driving the longer one
 * checks every step of the shorter). The same set `getSimplePaths()` returns, but xstate/graph
 * drops the prefixes by comparing each path with every path kept so far: quadratic, 67 s of the
 * 68 s the walk of one adoption took. Here each path is looked up in the set of kept prefixes.
 */
export function simplePathsWithoutPrefixes<S extends Snapshot<unknown>, E extends EventObject>(model: TestModel<S, E, unknown>): Path<S, E>[] {
  const all = [...model.getSimplePaths({ allowDuplicatePaths: true })].sort((a, z) => z.steps.length - a.steps.length);
  const prefixes = new Set<string>();
  const kept: Path<S, E>[] = [];
  for (const p of all) {
    // steps[0] is the initial state (event xstate.init): the same on every path.
    const events = p.steps.slice(1).map((s) => JSON.stringify(s.event));
    if (prefixes.has(events.join('\n'))) continue;
    kept.push(p);
    for (let n = 0; n <= events.length; n++) prefixes.add(events.slice(0, n).join('\n'));
  }
  return kept;
}
