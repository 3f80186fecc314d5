import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/cli/paths.js';

/**
 * The project's 200-day trace lives in ../shared beside the checkout (as CI has it); a user's
 * clone has only the bundled 20 days. Tests that replay "the first 14 days" use whichever
 * is there and say which.
 */
export function fourteenDayTrace(): { path: string; label: string } {
  const shared = join(projectRoot(), '..', 'shared', 'traces', 'singularity-jobs.csv');
  if (existsSync(shared)) return { path: shared, label: 'shared/traces/singularity-jobs.csv' };
  return { path: join(projectRoot(), 'data', 'traces', 'singularity-2016-06-27-3w.csv'), label: 'bundled 20-day trace' };
}

export const cliPath = () => join(projectRoot(), 'dist', 'src', 'cli', 'main.js');
