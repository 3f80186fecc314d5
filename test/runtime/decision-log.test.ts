import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Actor } from 'xstate';
import type { Decision } from '../../src/planner/types.js';
import { logDecisions } from '../../src/runtime/decision-log.js';
import type { SupervisorMachine } from '../../machines/supervisor/supervisor.machine.js';

type Emitted = { type: 'decision'; now: number; decision: Decision; first: boolean };

/** The decision log on a stand-in supervisor that emits planning rounds as the real one does. */
function decisionLog() {
  const lines: { decision: string; code?: string }[] = [];
  let listener: ((e: Emitted) => void) | null = null;
  const supervisor = { on: (_type: string, f: (e: Emitted) => void) => void (listener = f) } as unknown as Actor<SupervisorMachine>;
  logDecisions(supervisor, pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { decision: string; code?: string }) }));
  const round = (now: number, ...decisions: Decision[]) => decisions.forEach((decision, k) => listener!({ type: 'decision', now, decision, first: k === 0 }));
  return { lines, round };
}

const hold = (code: 'renewal-not-due' | 'at-fleet-max', pool = 'amd'): Decision => ({ kind: 'hold', pool, code, reason: `${code} for now` });

describe('decision log: a hold is logged when it starts, not on every round it stays in force', () => {
  it('logs a hold once while round after round holds it', () => {
    const log = decisionLog();
    for (const now of [0, 15, 30]) log.round(now, hold('renewal-not-due'));
    expect(log.lines.map((l) => l.code)).toEqual(['renewal-not-due']);
  });

  it('goes by planning round, not by instant: a hold the second round of an instant dropped starts again when it returns', () => {
    // A tick holds; the queue poll's round at the same instant does not (a build took the agent);
    // the next round holds again: the hold ended in between, so it starts again.
    const log = decisionLog();
    log.round(240, hold('renewal-not-due'), hold('at-fleet-max', 'arm'));
    log.round(240, hold('at-fleet-max', 'arm'));
    log.round(300, hold('at-fleet-max', 'arm'), hold('renewal-not-due'));
    expect(log.lines.map((l) => `${l.code}`)).toEqual(['renewal-not-due', 'at-fleet-max', 'renewal-not-due']);
  });
});
