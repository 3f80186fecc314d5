import fc from 'fast-check';

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
