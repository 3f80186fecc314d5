import { readFileSync, writeFileSync } from 'node:fs';
import { DdaError } from '../domain/errors.js';
import { overlayTrace } from '../sim/trace-generate.js';

export interface TraceGenerateArgs {
  trace: string;
  out: string;
  copies: number;
  shiftMinutes: number;
}

/** Write a scale-test trace made of overlaid copies of a real one; one line says what it holds. */
export function generateTrace(args: TraceGenerateArgs, out: NodeJS.WritableStream = process.stdout): void {
  let text: string;
  try {
    text = readFileSync(args.trace, 'utf8');
  } catch (e) {
    throw new DdaError('TRACE_UNREADABLE', `cannot read trace ${args.trace}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const r = overlayTrace(text, { copies: args.copies, shiftMinutes: args.shiftMinutes }, args.trace);
  try {
    writeFileSync(args.out, r.csv);
  } catch (e) {
    throw new DdaError('USAGE', `cannot write --out ${args.out}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const day = (t: number) => new Date(t).toISOString().slice(0, 10);
  out.write(`wrote ${args.out}: ${r.jobs} jobs (${args.copies} copies, ${args.shiftMinutes} min apart), at most ${r.peakConcurrent} running at once, ${day(r.first)} to ${day(r.last)}\n`);
}
