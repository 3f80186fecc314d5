import { pino } from 'pino';
import type { Config } from '../config/config.js';
import { DdaError } from '../domain/errors.js';
import { createLogger } from '../log/logger.js';
import { formatReport } from '../sim/report.js';
import { simulate } from '../sim/simulate.js';
import { readTrace, traceWindow } from '../sim/trace.js';
import type { Clock } from '../domain/clock.js';

export interface SimulateArgs {
  trace: string;
  from?: string;
  days?: string;
  json?: boolean;
  seed?: string;
  /** Print lifecycle and decision logs (JSON lines) before the report. */
  logs?: boolean;
}

export function parseDays(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0) throw new DdaError('USAGE', `--days must be a positive number, not "${s}"`);
  return n;
}

export function parseFrom(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  if (!Number.isFinite(t)) throw new DdaError('USAGE', `--from must be an ISO date like 2016-03-01 or 2016-03-01T00:00:00Z, not "${s}"`);
  return t;
}

function parseSeed(s: string | undefined): number {
  if (s === undefined) return 1;
  const n = Number(s);
  if (!Number.isInteger(n)) throw new DdaError('USAGE', `--seed must be an integer, not "${s}"`);
  return n;
}

/** Replay a trace through the real daemon on virtual time; print the report (text or JSON). */
export async function runSimulation(args: SimulateArgs, config: Config, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const days = parseDays(args.days);
  const from = parseFrom(args.from);
  const seed = parseSeed(args.seed);
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
