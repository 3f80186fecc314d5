import { pino } from 'pino';
import type { Config } from '../config/config.js';
import { createLogger } from '../log/logger.js';
import { formatReport } from '../sim/report.js';
import { simulate } from '../sim/simulate.js';
import { readTrace, traceSpan, traceWindow, type TraceJob } from '../sim/trace.js';
import { DdaError } from '../domain/errors.js';
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
  checkWindow(all, args);
  const w = traceWindow(all, { ...(from !== undefined ? { from } : {}), ...(days !== undefined ? { days } : {}) });
  // The logger's clock is the simulation's virtual clock, read through this indirection.
  const clockRef: { current: Clock | null } = { current: null };
  const logger = args.logs
    ? createLogger({ clock: { now: () => clockRef.current?.now() ?? w.start, setTimeout: () => 0, clearTimeout: () => {} }, destination: pino.destination({ dest: 1, sync: true }) })
    : pino({ level: 'silent' });
  const { report } = await simulate({ jobs: w.jobs, start: w.start, end: w.end, config, logger, world: { seed }, onClock: (c) => (clockRef.current = c) });
  out.write(args.json ? `${JSON.stringify(report)}\n` : `\n${formatReport(report)}\n`);
}

const DAY = 86_400_000;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);

/**
 * A window beyond the trace would replay empty days on virtual time for minutes with nothing to
 * show (`--days 3650`): refused, with the span the trace has.
 */
function checkWindow(jobs: readonly TraceJob[], a: Pick<SimulateArgs, 'trace' | 'from' | 'days'>): void {
  const span = traceSpan(jobs);
  const spans = `the trace ${a.trace} spans ${(span.end - span.start) / DAY} days, ${day(span.start)} through ${day(span.end - DAY)}`;
  if (a.from !== undefined && (a.from < span.start || a.from >= span.end)) throw new DdaError('USAGE', `--from ${new Date(a.from).toISOString()} is outside the trace: ${spans}`);
  if (a.days === undefined) return;
  const start = a.from ?? span.start;
  const left = (span.end - start) / DAY;
  if (a.days > left + 1e-9) {
    const most = Math.floor(left * 100) / 100;
    throw new DdaError('USAGE', `--days ${a.days} goes past the end of the trace: ${spans}; from ${day(start)} use --days ${most} or fewer`);
  }
}
