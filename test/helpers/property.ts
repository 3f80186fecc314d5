import fc from 'fast-check';

/**
 * How long a property (or a model walk) may run before it counts as hung. A guard against a
 * hang, not a speed check (speed is `npm run bench`'s): on CI's loaded 2-core runner the fleet
 * invariants ran at a fifth of their idle speed and a 110 s limit failed a correct run.
 * DDA_FC_SCALE scales it with the number of runs.
 */
export const HANG_GUARD_MS = 900_000 * Number(process.env.DDA_FC_SCALE ?? 1);
/** The test's own timeout: past the guard, so the guard's message is the one reported. */
export const HANG_TIMEOUT_MS = HANG_GUARD_MS + 60_000;

/**
 * `fc.assert` with a floor. fast-check's `interruptAfterTimeLimit` on its own ends a slow run
 * early and passes; here the property must run `numRuns` times, a run cut short by the time
 * limit is a failure that says how far it got, and a counterexample is reported as fc.assert
 * reports it (shrunk, with its seed and path to replay).
 */
export async function assertProperty<Ts>(
  property: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>,
  o: { numRuns: number; timeLimitMs: number; params?: Omit<fc.Parameters<Ts>, 'numRuns' | 'interruptAfterTimeLimit' | 'markInterruptAsFailure'> },
): Promise<fc.RunDetails<Ts>> {
  const details = await fc.check(property, { ...o.params, numRuns: o.numRuns, interruptAfterTimeLimit: o.timeLimitMs, markInterruptAsFailure: true });
  if (details.interrupted) throw new Error(`property cut short by its ${o.timeLimitMs} ms time limit after ${details.numRuns} of ${o.numRuns} runs`);
  if (details.failed) throw new Error(fc.defaultReportMessage(details) ?? 'property failed');
  if (details.numRuns < o.numRuns) throw new Error(`property ran ${details.numRuns} times, fewer than the ${o.numRuns} required`);
  return details;
}
