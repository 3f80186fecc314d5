import { describeError } from '../../src/domain/errors.js';
import { runScenario, type ScenarioCounts } from './check.js';
import { faultKindsOf, FAULT_KINDS, soakScenario, type FaultKind } from './scenario.js';

/** What a batch of soak scenarios counted; batches add up (addTallies). */
export interface SoakTally {
  scenarios: number;
  failed: { k: number; violations: string[] }[];
  byKind: Record<FaultKind, number>;
  counts: ScenarioCounts;
}

export function emptyTally(): SoakTally {
  return {
    scenarios: 0,
    failed: [],
    byKind: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>,
    counts: { steps: 0, checks: 0, decisions: 0, jobs: 0, launches: 0, interruptions: 0, lostToInterruptions: 0, daemonsStarted: 0, leakedInstanceSeconds: 0, hungCalls: 0, throttledCalls: 0, blindDescribes: 0, twins: 0 },
  };
}

export function addTallies(into: SoakTally, t: SoakTally): void {
  into.scenarios += t.scenarios;
  into.failed.push(...t.failed);
  for (const k of FAULT_KINDS) into.byKind[k] += t.byKind[k];
  for (const key of Object.keys(into.counts) as (keyof ScenarioCounts)[]) into.counts[key] += t.counts[key];
}

/** Scenario `k` of the soak seeded `seed`, run and counted. A scenario that throws is a violation too. */
export async function runSoakScenario(seed: number, k: number, into: SoakTally): Promise<void> {
  const s = soakScenario(seed, k);
  into.scenarios++;
  for (const kind of faultKindsOf(s)) into.byKind[kind]++;
  try {
    const r = await runScenario(s);
    const one: SoakTally = { ...emptyTally(), counts: r.counts };
    addTallies(into, { ...one, byKind: emptyTally().byKind });
    if (r.violations.length > 0) into.failed.push({ k, violations: r.violations });
  } catch (e) {
    into.failed.push({ k, violations: [`the run threw: ${describeError(e)}`] });
  }
}
