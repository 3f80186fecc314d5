import type { AnyStateMachine, AnyTransitionDefinition, InspectionEvent, Observer, StateValue } from 'xstate';
import { toDirectedGraph, type DirectedGraphNode } from 'xstate/graph';

/**
 * Coverage of a machine's definition, measured on real actors: the state nodes they were in and
 * the transitions (`on` and `always` edges, one per candidate, guarded or not) they took.
 * The definition comes from xstate's own graph (`toDirectedGraph`), as in src/docs/mermaid.ts,
 * so a state or an edge added to a machine is counted here without anyone touching the tests.
 * Actors are seen through public snapshots (their `value`, as paths) and the inspection API's
 * microsteps; states and edges are reported by their node ids.
 */

export interface EdgeInfo {
  /** `instance.booting.instance --REGISTERED[0]--> instance.booting.agent` */
  name: string;
  edge: AnyTransitionDefinition;
}

interface Definition {
  /** Every state node but the root: its id (`instance.booting.instance`) and path (`booting.instance`). */
  states: { id: string; path: string }[];
  edges: EdgeInfo[];
}

function nodesOf(g: DirectedGraphNode): DirectedGraphNode[] {
  return [g, ...g.children.flatMap(nodesOf)];
}

export function definitionOf(machine: AnyStateMachine): Definition {
  const states: Definition['states'] = [];
  const edges: EdgeInfo[] = [];
  for (const n of nodesOf(toDirectedGraph(machine))) {
    const s = n.stateNode;
    if (s.path.length > 0) states.push({ id: n.id, path: s.path.join('.') });
    // The graph has one edge per target (a targetless transition as a self-loop); count each
    // transition once. `always` edges are not in the graph: add them.
    const transitions = [...new Set(n.edges.map((e) => e.transition)), ...(s.always ?? [])];
    const seen = new Map<string, number>();
    for (const t of transitions) {
      const ev = t.eventType === '' ? '(always)' : t.eventType;
      const i = seen.get(ev) ?? 0;
      seen.set(ev, i + 1);
      const to = t.target?.map((x) => x.id).join(',') ?? '(stay)';
      edges.push({ name: `${n.id} --${ev}[${i}]--> ${to}`, edge: t });
    }
  }
  return { states, edges };
}

/** `{ booting: 'instance' }` → `booting`, `booting.instance`. */
function statePaths(value: StateValue, prefix: string[] = []): string[] {
  if (typeof value === 'string') return [[...prefix, value].join('.')];
  return Object.entries(value).flatMap(([k, v]) => [[...prefix, k].join('.'), ...(v === undefined ? [] : statePaths(v, [...prefix, k]))]);
}

/** Records, through XState's inspection API, the state nodes entered and transitions taken. */
export class CoverageRecorder {
  /** Paths of the state nodes seen (`booting.instance`). */
  readonly statesSeen = new Set<string>();
  readonly edgesSeen = new Set<AnyTransitionDefinition>();
  constructor(private readonly machineId: string) {}

  /** What several runs took together, e.g. walks that each test records on its own. */
  static union(machineId: string, recorders: readonly CoverageRecorder[]): CoverageRecorder {
    const all = new CoverageRecorder(machineId);
    for (const r of recorders) {
      for (const s of r.statesSeen) all.statesSeen.add(s);
      for (const e of r.edgesSeen) all.edgesSeen.add(e);
    }
    return all;
  }

  observer(): Observer<InspectionEvent> {
    return {
      next: (ev) => {
        if (ev.type !== '@xstate.microstep') return;
        const snap = ev.snapshot as { machine?: { id: string }; value?: StateValue };
        if (snap.machine?.id !== this.machineId || snap.value === undefined) return;
        for (const p of statePaths(snap.value)) this.statesSeen.add(p);
        for (const t of ev._transitions) {
          this.edgesSeen.add(t);
          // The source of a taken edge was active, even if only for a microstep (a transient
          // routing state left by `always`).
          this.statesSeen.add(t.source.path.join('.'));
        }
      },
    };
  }

  missing(machine: AnyStateMachine): { states: string[]; edges: string[]; totals: { states: number; edges: number } } {
    const def = definitionOf(machine);
    return {
      states: def.states.filter((s) => !this.statesSeen.has(s.path)).map((s) => s.id),
      edges: def.edges.filter((e) => !this.edgesSeen.has(e.edge)).map((e) => e.name),
      totals: { states: def.states.length, edges: def.edges.length },
    };
  }
}
