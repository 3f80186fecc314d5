import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { assertProperty, HANG_GUARD_MS, HANG_TIMEOUT_MS } from '../helpers/property.js';
import { checkScenario, scenarioArb, totals } from '../../bench/soak/check.js';

/**
 * The six invariants of issue 5, checked after every simulated instant and at the end, on
 * random workloads under random faults, through the real daemon (streams, supervisor, instance
 * actors, planner) on the simulator. A failure shrinks to a minimal scenario that fast-check
 * prints (plain data, minutes from the start), with the violations found.
 */
// DDA_FC_SCALE=10 runs ten times as many (for a long hunt); the default keeps npm test quick.
// Each property must complete its runs: one cut short by the time limit fails (assertProperty).
const scale = Number(process.env.DDA_FC_SCALE ?? 1);
const RUNS = { faults: Math.round(200 * scale), restarts: Math.round(120 * scale) };
const counts: Record<string, number> = {};

async function holds(name: string, s: Parameters<typeof checkScenario>[0]): Promise<boolean> {
  counts[name] = (counts[name] ?? 0) + 1;
  const v = await checkScenario(s);
  if (v.length > 0) throw new Error(`invariant violated:\n  ${v.join('\n  ')}`);
  return true;
}

describe('fleet invariants under faults (fast-check, simulator)', () => {
  it('pool/fleet max and budget, no busy agent drained, wind-down to minimum, no leak, every job done, nothing done blind', { timeout: HANG_TIMEOUT_MS }, async () => {
    await assertProperty(
      fc.asyncProperty(scenarioArb({ restarts: { min: 0, max: 1 }, faults: true }), (s) => holds('faults', s)),
      { numRuns: RUNS.faults, timeLimitMs: HANG_GUARD_MS },
    );
    expect(counts.faults).toBeGreaterThanOrEqual(RUNS.faults);
  });

  it('the same across daemon restarts mid-lifecycle: the new supervisor adopts the fleet from its tags', { timeout: HANG_TIMEOUT_MS }, async () => {
    await assertProperty(
      fc.asyncProperty(scenarioArb({ restarts: { min: 1, max: 3 }, faults: true }), (s) => holds('restarts', s)),
      { numRuns: RUNS.restarts, timeLimitMs: HANG_GUARD_MS },
    );
    expect(counts.restarts).toBeGreaterThanOrEqual(RUNS.restarts);
  });

  afterAll(() => {
    console.log(
      `fleet invariants: ${counts.faults ?? 0} runs under faults, ${counts.restarts ?? 0} runs with restarts; ` +
        `${totals.runs} simulations, ${totals.steps} simulated instants checked, ${totals.decisions} planner decisions checked, ` +
        `${totals.jobs} jobs, ${totals.launches} launches (${totals.launchFailures} failed), ${totals.interruptions} spot interruptions, ${totals.killed} builds killed by force, ${totals.restarts} daemon restarts`,
    );
  });
});
