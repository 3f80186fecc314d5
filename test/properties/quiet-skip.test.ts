import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertProperty, HANG_GUARD_MS, HANG_TIMEOUT_MS } from '../helpers/property.js';
import { configOf, faultsOf, jobsOf, MIN, scenarioArb, T0, type Scenario } from '../../bench/soak/scenario.js';
import { parseConfig, type Config } from '../../src/config/config.js';
import { simulate } from '../../src/sim/simulate.js';

/** What the fault scenarios leave out: a warm pool (some ageing or costing out within hours, some on a schedule) and a longer idle grace. */
interface Extra {
  idleGraceSeconds: number;
  warm: { size: number | 'auto'; min: number; maxAgeHours: number; storageUsdPerGbMonth: number; window: [number, number] | null } | null;
}
const extraArb: fc.Arbitrary<Extra> = fc.record({
  idleGraceSeconds: fc.constantFrom(20, 300, 1800),
  warm: fc.option(
    fc.record({
      size: fc.constantFrom(1, 2, 'auto' as const),
      min: fc.integer({ min: 0, max: 1 }),
      maxAgeHours: fc.integer({ min: 1, max: 8 }),
      // A month of disk at 8 USD/GB: a parked instance above target costs more than priming after minutes.
      storageUsdPerGbMonth: fc.constantFrom(0.08, 8),
      window: fc.option(fc.tuple(fc.integer({ min: 8, max: 15 }), fc.integer({ min: 1, max: 4 })), { nil: null }),
    }),
    { nil: null },
  ),
});

function withExtra(config: Config, x: Extra): Config {
  const w = x.warm;
  const hhmm = (h: number) => `${String(h).padStart(2, '0')}:${h % 2 ? '30' : '00'}`;
  const warmPool = w
    ? parseConfig({
        pools: [
          {
            name: 'x',
            warmPool: {
              size: w.size,
              min: w.min,
              maxAgeSeconds: w.maxAgeHours * 3600,
              storageUsdPerGbMonth: w.storageUsdPerGbMonth,
              ...(w.window ? { schedule: [{ days: 'daily', from: hhmm(w.window[0]), to: hhmm(Math.min(23, w.window[0] + w.window[1])), size: 2 }] } : {}),
            },
          },
        ],
      }).pools[0]!.warmPool
    : undefined;
  return { ...config, pools: config.pools.map((p) => ({ ...p, ...(warmPool ? { warmPool } : {}) })), planner: { ...config.planner, idleGraceSeconds: x.idleGraceSeconds } };
}

/**
 * A replay skips polls that provably change nothing (src/sim/simulate.ts `skipQuiet`). Proof
 * that they change nothing: on random workloads under the faults the world injects itself,
 * with restarts, the same replay with and without skipping makes the same decisions at the
 * same instants, the same transitions, and the same report.
 */
async function replay(s: Scenario, x: Extra, skipQuiet: boolean) {
  const jobs = jobsOf(s);
  const log: string[] = [];
  let instants = 0;
  let held = new Set<string>();
  let holding = new Set<string>();
  const end = Math.max(...jobs.map((j) => j.createdAt + j.durationMs), ...s.restartsMin.map((m) => T0 + m * MIN)) + 30 * MIN;
  const { report } = await simulate({
    jobs,
    start: T0,
    end,
    tailMs: 8 * 3_600_000,
    config: withExtra(configOf(s), x),
    world: { seed: s.seed, faults: faultsOf(s), ...(s.faults.spotPerHour > 0 ? { market: 'spot' as const } : {}) },
    restartsAt: s.restartsMin.map((m) => T0 + m * MIN),
    skipQuiet,
    onStep: () => instants++,
    onDecision: (d, now, first) => {
      // As the decision log writes them: a hold when it starts, not again each round it stays.
      if (first) [held, holding] = [holding, new Set()];
      if (d.kind === 'hold') {
        holding.add(`${d.pool}/${d.code}`);
        if (held.has(`${d.pool}/${d.code}`)) return;
        log.push(`${now} hold ${d.pool} ${d.code}`);
      } else log.push(`${now} ${JSON.stringify(d)}`);
    },
    onTransition: (t) => log.push(`${t.machine} ${t.key} ${t.from} -> ${t.to} on ${t.event}: ${t.reason}`),
  });
  const { wall_seconds: _w, simulated_days_per_wall_second: _s, ...same } = report;
  return { report: same, log, instants };
}

describe('skipping quiet polls changes nothing', () => {
  const instants = { skipped: 0, every: 0, bestSaving: 0 };
  it('the same decisions, transitions and report with and without skipping', { timeout: HANG_TIMEOUT_MS }, async () => {
    await assertProperty(
      fc.asyncProperty(fc.oneof(scenarioArb({ restarts: { min: 0, max: 1 }, faults: false, horizonMin: 600 }), scenarioArb({ restarts: { min: 0, max: 1 }, faults: true, horizonMin: 600 })), extraArb, async (s, x) => {
        const [skipped, every] = [await replay(s, x, true), await replay(s, x, false)];
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
