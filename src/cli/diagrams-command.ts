import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { instanceMachine } from '../../machines/instance/instance.machine.js';
import { supervisorMachine } from '../../machines/supervisor/supervisor.machine.js';
import { toMermaid } from '../docs/mermaid.js';
import { projectRoot } from './paths.js';

export function diagramsMarkdown(): string {
  return [
    '# Statechart diagrams',
    '',
    'Generated from `machines/` by `npm run docs` (`drone-dynamic-agents diagrams`); a test fails when this',
    'file differs from what the machines say, so it cannot go stale. Do not edit by hand.',
    '',
    '## Instance lifecycle (`machines/instance/instance.machine.ts`)',
    '',
    '```mermaid',
    toMermaid(instanceMachine),
    '```',
    '',
    '## Supervisor (`machines/supervisor/supervisor.machine.ts`)',
    '',
    '```mermaid',
    toMermaid(supervisorMachine),
    '```',
    '',
  ].join('\n');
}

export function writeDiagrams(): string {
  const path = join(projectRoot(), 'docs', 'diagrams.md');
  writeFileSync(path, diagramsMarkdown());
  return path;
}
