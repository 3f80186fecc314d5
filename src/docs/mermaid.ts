import type { AnyStateMachine } from 'xstate';

interface Node {
  id: string;
  key: string;
  type: string;
  initial?: { target: readonly Node[] } | undefined;
  states: Record<string, Node>;
  transitions: Map<string, readonly Edge[]>;
  always?: readonly Edge[] | undefined;
}
interface Edge {
  target?: readonly Node[] | undefined;
  guard?: { type?: string } | string | ((...a: never[]) => unknown) | undefined;
  eventType: string;
}

const sid = (n: Node) => n.id.replace(/[^a-zA-Z0-9]/g, '_');

function guardName(g: Edge['guard']): string {
  if (!g) return '';
  if (typeof g === 'string') return ` [${g}]`;
  if (typeof g === 'function') return ' [guard]';
  return g.type ? ` [${g.type}]` : '';
}

/**
 * A Mermaid state diagram drawn from the machine definition itself, so the docs cannot go
 * stale: `npm run docs` regenerates them and a test fails when they differ.
 */
export function toMermaid(machine: AnyStateMachine): string {
  const lines: string[] = ['stateDiagram-v2'];
  const edges: string[] = [];
  const walk = (node: Node, depth: number) => {
    const pad = '  '.repeat(depth);
    const children = Object.values(node.states);
    if (node !== (machine.root as unknown as Node)) {
      lines.push(`${pad}state "${node.key}" as ${sid(node)}${children.length ? ' {' : ''}`);
      if (node.type === 'final') edges.push(`${sid(node)} --> [*]`);
    }
    const inner = node === (machine.root as unknown as Node) ? depth : depth + 1;
    if (node.initial?.target?.[0]) lines.push(`${'  '.repeat(inner)}[*] --> ${sid(node.initial.target[0])}`);
    for (const c of children) walk(c, inner);
    if (children.length && node !== (machine.root as unknown as Node)) lines.push(`${pad}}`);
    const all: Edge[] = [...[...node.transitions.values()].flat(), ...(node.always ?? [])];
    for (const t of all) {
      for (const target of t.target ?? []) {
        const ev = t.eventType === '' ? 'always' : t.eventType;
        edges.push(`${sid(node)} --> ${sid(target)} : ${ev}${guardName(t.guard)}`);
      }
    }
  };
  walk(machine.root as unknown as Node, 1);
  return [...lines, ...[...new Set(edges)].map((e) => `  ${e}`)].join('\n');
}
