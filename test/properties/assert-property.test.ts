import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertProperty } from '../helpers/property.js';

/** The floor under the fleet properties: a property that does not complete its runs fails. */
describe('assertProperty', () => {
  it('passes a property that holds for every one of its runs, and says how many ran', async () => {
    let runs = 0;
    const d = await assertProperty(
      fc.property(fc.integer(), (n) => {
        runs++;
        return n + 0 === n;
      }),
      { numRuns: 50, timeLimitMs: 10_000 },
    );
    expect(d.numRuns).toBe(50);
    expect(runs).toBe(50);
  });

  it('fails a property cut short by its time limit, where fc.assert would have passed it', async () => {
    const slow = () =>
      fc.asyncProperty(fc.integer(), async () => {
        await new Promise((r) => setTimeout(r, 20));
        return true;
      });
    // What the property tests did before: interrupted early, and green.
    await expect(fc.assert(slow(), { numRuns: 1000, interruptAfterTimeLimit: 100, markInterruptAsFailure: false })).resolves.toBeUndefined();
    await expect(assertProperty(slow(), { numRuns: 1000, timeLimitMs: 100 })).rejects.toThrow(/cut short by its 100 ms time limit after \d+ of 1000 runs/);
  });

  it('fails with the shrunk counterexample when the property does not hold', async () => {
    await expect(assertProperty(fc.property(fc.integer({ min: 0, max: 1000 }), (n) => n < 10), { numRuns: 200, timeLimitMs: 10_000 })).rejects.toThrow(/Counterexample: \[10\]/);
  });
});
