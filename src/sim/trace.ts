import { readFileSync } from 'node:fs';
import { DEFAULT_DEMAND, type Demand } from '../domain/pool.js';
import { DdaError } from '../domain/errors.js';

/** One CI job of a recorded trace. */
export interface TraceJob {
  id: string;
  buildId: string;
  /** When it entered the queue (ms epoch). */
  createdAt: number;
  durationMs: number;
  demand: Demand;
}

const REQUIRED = ['job_id', 'created_at_iso', 'duration_s'] as const;

/**
 * Parse a job trace CSV (columns as in shared/traces/README.md: job_id, created_at_iso,
 * duration_s, optional build_id). A bad row is an error naming its line, not a skipped job.
 */
export function parseTrace(text: string, origin = 'trace'): TraceJob[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  for (const col of REQUIRED) {
    if (!header.includes(col)) throw new DdaError('TRACE_INVALID', `${origin}: missing column "${col}" in the header line`);
  }
  const ix = (name: string) => header.indexOf(name);
  const iId = ix('job_id');
  const iAt = ix('created_at_iso');
  const iDur = ix('duration_s');
  const iBuild = ix('build_id');
  const jobs: TraceJob[] = [];
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.trim() === '') continue;
    const f = line.split(',');
    const at = Date.parse(f[iAt] ?? '');
    const dur = Number(f[iDur]);
    if (!Number.isFinite(at)) throw new DdaError('TRACE_INVALID', `${origin}: line ${n + 1}: created_at_iso "${f[iAt] ?? ''}" is not a date`);
    if (!Number.isFinite(dur) || dur < 0) throw new DdaError('TRACE_INVALID', `${origin}: line ${n + 1}: duration_s "${f[iDur] ?? ''}" is not a non-negative number`);
    const id = f[iId] ?? '';
    jobs.push({ id: id || `line-${n + 1}`, buildId: iBuild >= 0 ? (f[iBuild] ?? '') : '', createdAt: at, durationMs: Math.round(dur * 1000), demand: DEFAULT_DEMAND });
  }
  if (jobs.length === 0) throw new DdaError('TRACE_INVALID', `${origin}: no jobs in the trace`);
  jobs.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  return jobs;
}

export function readTrace(path: string): TraceJob[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new DdaError('TRACE_UNREADABLE', `cannot read trace ${path}: ${code}`);
  }
  return parseTrace(text, path);
}

/** Jobs from `from` (default: the trace's first day, UTC midnight) for `days` days. */
export function traceWindow(jobs: readonly TraceJob[], opts: { from?: number; days?: number }): { jobs: TraceJob[]; start: number; end: number } {
  const first = jobs[0]!.createdAt;
  const start = opts.from ?? first - (first % 86_400_000);
  const last = jobs.reduce((m, j) => Math.max(m, j.createdAt), first);
  // Whole days: up to the midnight after the last job.
  const end = opts.days !== undefined ? start + opts.days * 86_400_000 : last - (last % 86_400_000) + 86_400_000;
  const inWindow = jobs.filter((j) => j.createdAt >= start && j.createdAt < end);
  if (inWindow.length === 0) throw new DdaError('TRACE_INVALID', `no jobs between ${new Date(start).toISOString()} and ${new Date(end).toISOString()}`);
  return { jobs: inWindow, start, end };
}
