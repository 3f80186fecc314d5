import type { AnyStateMachine, InspectionEvent, Observer } from 'xstate';

/**
 * Coverage of a machine's definition, measured on real actors: the state nodes they were in and
 * the transitions (`on` and `always` edges, one per candidate, guarded or not) they took.
 * The definition is walked from `machine.root`, as src/docs/mermaid.ts does, so a state or an
 * edge added to a machine is counted here without anyone touching the tests.
 */
interface Node {
  id: string;
  type: string;
  states: Record<string, Node>;
  transitions: Map<string, readonly Edge[]>;
  always?: readonly Edge[] | undefined;
}
interface Edge {
  source: Node;
  eventType: string;
  target?: readonly Node[] | undefined;
}

export interface EdgeInfo {
  /** `#instance.booting.instance --REGISTERED[0]--> booting.agent` */
  name: string;
  edge: object;
}

export function definitionOf(machine: AnyStateMachine): { states: string[]; edges: EdgeInfo[] } {
  const states: string[] = [];
  const edges: EdgeInfo[] = [];
  const walk = (n: Node) => {
    if (n !== (machine.root as unknown as Node)) states.push(n.id);
    const all: [string, readonly Edge[]][] = [...n.transitions.entries()];
    if (n.always?.length) all.push(['(always)', n.always]);
    for (const [ev, list] of all) {
      list.forEach((e, i) => {
        const to = e.target?.map((t) => t.id).join(',') ?? '(stay)';
        edges.push({ name: `${n.id} --${ev}[${i}]--> ${to}`, edge: e });
      });
    }
    for (const c of Object.values(n.states)) walk(c);
  };
  walk(machine.root as unknown as Node);
  return { states, edges };
}

/** Records, through XState's inspection API, the state nodes entered and transitions taken. */
export class CoverageRecorder {
  readonly statesSeen = new Set<string>();
  readonly edgesSeen = new Set<object>();
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
        const snap = ev.snapshot as { machine?: { id: string }; _nodes?: { id: string }[] };
        if (snap.machine?.id !== this.machineId) return;
        for (const n of snap._nodes ?? []) this.statesSeen.add(n.id);
        for (const t of (ev as unknown as { _transitions: (Edge & object)[] })._transitions) {
          this.edgesSeen.add(t);
          // The source of a taken edge was active, even if only for a microstep (a transient
          // routing state left by `always`).
          this.statesSeen.add(t.source.id);
        }
      },
    };
  }

  missing(machine: AnyStateMachine): { states: string[]; edges: string[]; totals: { states: number; edges: number } } {
    const def = definitionOf(machine);
    return {
      states: def.states.filter((s) => !this.statesSeen.has(s)),
      edges: def.edges.filter((e) => !this.edgesSeen.has(e.edge)).map((e) => e.name),
      totals: { states: def.states.length, edges: def.edges.length },
    };
  }
}
