import type { AnyStateMachine } from 'xstate';
import { toDirectedGraph, type DirectedGraphNode } from 'xstate/graph';

type Transition = DirectedGraphNode['edges'][number]['transition'];

const sid = (id: string) => id.replace(/[^a-zA-Z0-9]/g, '_');

function guardName(g: Transition['guard']): string {
  if (!g) return '';
  if (typeof g === 'string') return ` [${g}]`;
  if (typeof g === 'function') return ' [guard]';
  return typeof g.type === 'string' ? ` [${g.type}]` : '';
}

/**
 * The transitions leaving a node that move somewhere: `on` edges from xstate's graph, plus the
 * eventless `always` edges, which `toDirectedGraph` leaves out. Targetless transitions (actions
 * only) draw nothing; the graph gives them as a self-loop.
 */
function edgesOf(node: DirectedGraphNode): { event: string; guard: string; target: string }[] {
  const on = node.edges
    .filter((e) => e.transition.target !== undefined)
    .map((e) => ({ event: e.transition.eventType, guard: guardName(e.transition.guard), target: e.target.id }));
  const always = (node.stateNode.always ?? []).flatMap((t) => (t.target ?? []).map((target) => ({ event: 'always', guard: guardName(t.guard), target: target.id })));
  return [...on, ...always];
}

/**
 * A Mermaid state diagram drawn from the machine definition itself, so the docs cannot go
 * stale: `npm run docs` regenerates them and a test fails when they differ.
 */
export function toMermaid(machine: AnyStateMachine): string {
  const lines: string[] = ['stateDiagram-v2'];
  const edges: string[] = [];
  const walk = (node: DirectedGraphNode, depth: number, root: boolean) => {
    const pad = '  '.repeat(depth);
    const s = node.stateNode;
    if (!root) {
      lines.push(`${pad}state "${s.key}" as ${sid(node.id)}${node.children.length ? ' {' : ''}`);
      if (s.type === 'final') edges.push(`${sid(node.id)} --> [*]`);
    }
    const inner = root ? depth : depth + 1;
    const initial = s.initial?.target[0];
    if (initial) lines.push(`${'  '.repeat(inner)}[*] --> ${sid(initial.id)}`);
    for (const c of node.children) walk(c, inner, false);
    if (node.children.length && !root) lines.push(`${pad}}`);
    for (const e of edgesOf(node)) edges.push(`${sid(node.id)} --> ${sid(e.target)} : ${e.event}${e.guard}`);
  };
  walk(toDirectedGraph(machine), 1, true);
  return [...lines, ...[...new Set(edges)].map((e) => `  ${e}`)].join('\n');
}
