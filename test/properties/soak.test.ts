import { afterAll, describe, expect, it } from 'vitest';
import { emptyTally, runSoakScenario } from '../../bench/soak/batch.js';
import { FAULT_KINDS } from '../../bench/soak/scenario.js';
import { HANG_GUARD_MS, HANG_TIMEOUT_MS } from '../helpers/property.js';

/**
 * A sample of `npm run soak`: the same scenarios (seed, number) through the same runner and
 * invariants, every fault kind among them. A fixed minimum of scenarios must complete within
 * the time limit; a failure names the scenario to replay with `npm run soak -- --seed S --scenario K`.
 * DDA_SOAK_SEED picks another sample; DDA_FC_SCALE scales it as for the other properties.
 */
const SEED = Number(process.env.DDA_SOAK_SEED ?? 20251103);
const RUNS = Math.round(200 * Number(process.env.DDA_FC_SCALE ?? 1));
const tally = emptyTally();

describe('soak sample (bench/soak, simulator)', () => {
  it(`${RUNS} random fault scenarios hold every invariant`, { timeout: HANG_TIMEOUT_MS }, async () => {
    const t0 = Date.now();
    for (let k = 0; k < RUNS; k++) {
      if (Date.now() - t0 > HANG_GUARD_MS) throw new Error(`soak sample cut short by its ${HANG_GUARD_MS} ms time limit after ${k} of ${RUNS} scenarios`);
      await runSoakScenario(SEED, k, tally);
    }
    expect(tally.scenarios).toBe(RUNS);
    for (const kind of FAULT_KINDS) expect(tally.byKind[kind], kind).toBeGreaterThan(0);
    const failures = tally.failed.map((f) => `scenario ${f.k} (npm run soak -- --seed ${SEED} --scenario ${f.k}): ${f.violations.join('; ')}`);
    expect(failures).toEqual([]);
    expect(tally.counts.leakedInstanceSeconds).toBe(0);
  });

  afterAll(() => {
    const c = tally.counts;
    console.log(`soak sample: ${tally.scenarios} scenarios, ${c.checks} invariant checks, ${tally.failed.length} failing, ${Math.round(c.leakedInstanceSeconds)} leaked instance-seconds, ${c.lostToInterruptions} builds lost to interruptions and requeued`);
  });
});
