import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Three projects, so the loop you run while editing stays in seconds:
 * - unit: pure and fast (machines, planner, sources against loopback servers, runtime, http,
 *   docs, the architecture rules). `npm run test:unit`, at most 15 s.
 * - property: randomized simulation runs (fast-check), each with a fixed minimum of runs, and
 *   the model walks over every path of the real machines (tens of thousands of steps).
 * - integration: moto, the built CLI, the daemon end to end, the 14-day replay, the bench.
 *   One moto_server serves the whole project (test/helpers/moto-global-setup.ts).
 * `npm test` runs all three. Tests that spawn the CLI read dist/: `npm test` builds first.
 */
const integration = ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/cli/**/*.test.ts', 'test/sim/**/*.test.ts', 'test/bench/**/*.test.ts'];
const property = ['test/properties/**/*.test.ts', 'test/model/**/*.test.ts'];

export default defineConfig({
  test: {
    // Vitest's default in run mode is one worker fewer than the cores: one, on our 2-core
    // machines, so every file ran in turn. Much of the integration project waits on real time.
    maxWorkers: availableParallelism(),
    projects: [
      {
        extends: true,
        // No module isolation between files: these tests share no global state (no vi.mock, no
        // fake timers, no global dispatcher), and re-importing xstate and the AWS-free code per
        // file was half of the project's time.
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...integration, ...property], isolate: false },
      },
      {
        extends: true,
        test: { name: 'property', include: property },
      },
      {
        extends: true,
        // A spawned CLI takes a second or two on an idle machine and several on a busy one:
        // the 5 s default would fail a correct test on a loaded CI runner.
        test: { name: 'integration', include: integration, globalSetup: ['test/helpers/moto-global-setup.ts'], testTimeout: 30_000 },
      },
    ],
  },
});
