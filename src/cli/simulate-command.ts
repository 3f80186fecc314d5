import { pino } from 'pino';
import type { Config } from '../config/config.js';
import { createLogger } from '../log/logger.js';
import { formatReport } from '../sim/report.js';
import { simulate } from '../sim/simulate.js';
import { readTrace, traceWindow } from '../sim/trace.js';
import type { Clock } from '../domain/clock.js';

export interface SimulateArgs {
  trace: string;
  /** Start of the replay window, ms since the epoch. */
  from?: number;
  days?: number;
  json?: boolean;
  seed?: number;
  /** Print lifecycle and decision logs (JSON lines) before the report. */
  logs?: boolean;
}

/** Replay a trace through the real daemon on virtual time; print the report (text or JSON). */
export async function runSimulation(args: SimulateArgs, config: Config, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const { days, from } = args;
  const seed = args.seed ?? 1;
  const all = readTrace(args.trace);
  const w = traceWindow(all, { ...(from !== undefined ? { from } : {}), ...(days !== undefined ? { days } : {}) });
  // The logger's clock is the simulation's virtual clock, read through this indirection.
  const clockRef: { current: Clock | null } = { current: null };
  const logger = args.logs
    ? createLogger({ clock: { now: () => clockRef.current?.now() ?? w.start, setTimeout: () => 0, clearTimeout: () => {} }, destination: pino.destination({ dest: 1, sync: true }) })
    : pino({ level: 'silent' });
  const { report } = await simulate({ jobs: w.jobs, start: w.start, end: w.end, config, logger, world: { seed }, onClock: (c) => (clockRef.current = c) });
  out.write(args.json ? `${JSON.stringify(report)}\n` : `\n${formatReport(report)}\n`);
}
