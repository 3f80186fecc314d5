import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertProperty, HANG_GUARD_MS, HANG_TIMEOUT_MS } from '../helpers/property.js';
import { configOf, faultsOf, jobsOf, MIN, scenarioArb, T0, type Scenario } from '../../bench/soak/scenario.js';
import { simulate } from '../../src/sim/simulate.js';

/**
 * A replay skips polls that provably change nothing (src/sim/simulate.ts `skipQuiet`). Proof
 * that they change nothing: on random workloads under the faults the world injects itself,
 * with restarts, the same replay with and without skipping makes the same decisions at the
 * same instants, the same transitions, and the same report.
 */
async function replay(s: Scenario, skipQuiet: boolean) {
  const jobs = jobsOf(s);
  const log: string[] = [];
  let instants = 0;
  const end = Math.max(...jobs.map((j) => j.createdAt + j.durationMs), ...s.restartsMin.map((m) => T0 + m * MIN)) + 30 * MIN;
  const { report } = await simulate({
    jobs,
    start: T0,
    end,
    tailMs: 8 * 3_600_000,
    config: configOf(s),
    world: { seed: s.seed, faults: faultsOf(s), ...(s.faults.spotPerHour > 0 ? { market: 'spot' as const } : {}) },
    restartsAt: s.restartsMin.map((m) => T0 + m * MIN),
    skipQuiet,
    onStep: () => instants++,
    onDecision: (d, now) => log.push(`${now} ${JSON.stringify(d)}`),
    onTransition: (t) => log.push(`${t.machine} ${t.key} ${t.from} -> ${t.to} on ${t.event}: ${t.reason}`),
  });
  const { wall_seconds: _w, simulated_days_per_wall_second: _s, ...same } = report;
  return { report: same, log, instants };
}

describe('skipping quiet polls changes nothing', () => {
  const instants = { skipped: 0, every: 0, bestSaving: 0 };
  it('the same decisions, transitions and report with and without skipping', { timeout: HANG_TIMEOUT_MS }, async () => {
    await assertProperty(
      fc.asyncProperty(fc.oneof(scenarioArb({ restarts: { min: 0, max: 1 }, faults: false, horizonMin: 600 }), scenarioArb({ restarts: { min: 0, max: 1 }, faults: true, horizonMin: 600 })), async (s) => {
        const [skipped, every] = [await replay(s, true), await replay(s, false)];
        expect(skipped.log).toEqual(every.log);
        expect(skipped.report).toEqual(every.report);
        instants.skipped += skipped.instants;
        instants.every += every.instants;
        instants.bestSaving = Math.max(instants.bestSaving, 1 - skipped.instants / every.instants);
      }),
      { numRuns: 40, timeLimitMs: HANG_GUARD_MS },
    );
    // Not vacuous: the skipping replays ran fewer instants, and some far fewer. (How many
    // depends on the mix drawn: scenarios with slow polls or lagging describes skip nothing.)
    console.log(`quiet skip: ${instants.skipped} instants with skipping, ${instants.every} without; at best ${Math.round(100 * instants.bestSaving)} % fewer in one scenario`);
    expect(instants.skipped).toBeLessThan(instants.every);
    expect(instants.bestSaving).toBeGreaterThan(0.3);
  });
});
