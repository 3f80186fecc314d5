import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/cli/paths.js';
import { checkArchitecture, type Violation } from './check.js';

/**
 * The rules of the house (docs/architecture.md, "What may import what") hold on the project.
 *
 * ALLOWED lists violations the code may have while a fix is under way, each named with why. It
 * is empty: issue 9 fixed the last ones. The test fails on an entry that no longer matches
 * anything, so the list can only shrink.
 */
const ALLOWED: (Violation & { why: string })[] = [];

const same = (a: Violation, b: Violation) => a.rule === b.rule && a.from === b.from && a.to === b.to;
const fmt = (v: Violation) => `${v.rule}: ${v.from} → ${v.to}`;

describe('the rules of the house', () => {
  it('hold on the project (but for the listed violations still being fixed)', async () => {
    const found = await checkArchitecture(projectRoot());
    const broken = found.filter((v) => !ALLOWED.some((a) => same(a, v)));
    const stale = ALLOWED.filter((a) => !found.some((v) => same(a, v)));
    expect(broken.map(fmt), 'rules broken (see docs/architecture.md, "What may import what")').toEqual([]);
    expect(stale.map(fmt), 'fixed: remove these entries from ALLOWED').toEqual([]);
  }, 30_000);

  it('are checked: a project that breaks each rule once is caught every time', async () => {
    const found = (await checkArchitecture(join(projectRoot(), 'test', 'architecture', 'fixture'))).map(fmt).sort();
    expect(found).toEqual(
      [
        'logic-imports-no-outer-layer: machines/m.ts → src/sources/adapter.ts',
        'logic-below-machines: src/planner/plan.ts → machines/m.ts',
        'logic-does-no-io: src/planner/plan.ts → fs', // dependency-cruiser names node: built-ins without the prefix
        'config-builds-nothing: src/config/builds.ts → src/sources/adapter.ts',
        'no-state-path-outside-machines: src/runtime/peeks.ts → imports statePath',
        'no-state-path-outside-machines: src/runtime/peeks.ts → getSnapshot().value',
        'no-state-path-outside-machines: src/runtime/peeks.ts → getSnapshot().children',
        'no-state-path-outside-machines: src/runtime/peeks.ts → getSnapshot().matches',
      ].sort(),
    );
  }, 30_000);
});
