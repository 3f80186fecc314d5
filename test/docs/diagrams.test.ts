import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagramsMarkdown } from '../../src/cli/diagrams-command.js';
import { projectRoot } from '../../src/cli/paths.js';

describe('docs/diagrams.md', () => {
  it('is what the machines say (run `npm run docs` after changing a machine)', () => {
    expect(readFileSync(join(projectRoot(), 'docs', 'diagrams.md'), 'utf8')).toBe(diagramsMarkdown());
  });
  it('draws every lifecycle state the user named', () => {
    const md = diagramsMarkdown();
    for (const s of ['requested', 'booting', 'task-running', 'draining', 'terminated']) expect(md).toContain(`state "${s}"`);
  });
});
