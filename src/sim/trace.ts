import { readFileSync } from 'node:fs';
import { CsvError, parse } from 'csv-parse/sync';
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

/** csv-parse's own errors, by code, as the end of a one-line message. */
const CSV_REASONS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted field opened here is never closed',
  CSV_INVALID_CLOSING_QUOTE: 'a quoted field is followed by something other than a comma or the end of the line',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'a quoted field is followed by something other than a comma or the end of the line',
  CSV_MAX_RECORD_SIZE: 'the row is too long',
  INVALID_OPENING_QUOTE: 'a quote inside an unquoted field: quote the whole field and double the quote ("6""00")',
};

interface Row {
  fields: string[];
  /** 1-based line where the row ends (a quoted field may span lines). */
  line: number;
}

/**
 * RFC 4180 rows (quoted fields, quoted commas and line breaks, CRLF, a BOM) with their line
 * numbers. Lines are counted here from the parser's byte offsets: its own `lines` counts a CRLF
 * inside a quoted field twice. Each row goes to `each` as it is parsed and is not kept: a trace
 * of 150,000 jobs held as rows took 200 MB at its peak, for 26 MB of jobs.
 */
function rows(text: string, origin: string, each: (row: Row) => void): void {
  const buf = Buffer.from(text);
  let scanned = 0;
  let newlines = 0;
  /** Newlines in the first `bytes` bytes (offsets only grow, so each byte is scanned once). */
  const newlinesBefore = (bytes: number) => {
    for (; scanned < bytes && scanned < buf.length; scanned++) if (buf[scanned] === 0x0a) newlines++;
    return newlines;
  };
  let last = 0;
  try {
    parse(buf, {
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      on_record: (record, info) => {
        // `bytes` is the offset just past the row and its line break, if it has one.
        last = newlinesBefore(info.bytes) + (buf[info.bytes - 1] === 0x0a ? 0 : 1);
        each({ fields: record, line: last });
        return null;
      },
    });
  } catch (e) {
    if (!(e instanceof CsvError)) throw e;
    // Here `bytes` is where the parser was within the bad row (for an unclosed quote, which is
    // only noticed at the end of the file, where that row began).
    const line = typeof e.bytes === 'number' ? buf.subarray(0, e.bytes).filter((b) => b === 0x0a).length + 1 : last + 1;
    const reason = CSV_REASONS[e.code] ?? e.message.split(/[:\n]/)[0]!.toLowerCase();
    throw new DdaError('TRACE_INVALID', `${origin}: line ${line}: ${reason}`);
  }
}

/**
 * Parse a job trace CSV (columns as in shared/traces/README.md: job_id, created_at_iso,
 * duration_s, optional build_id; any order, more columns ignored). A bad row is an error naming
 * its line, not a skipped job.
 */
export function parseTrace(text: string, origin = 'trace'): TraceJob[] {
  let header: string[] | null = null;
  const jobs: TraceJob[] = [];
  let iId = -1;
  let iAt = -1;
  let iDur = -1;
  let iBuild = -1;
  rows(text, origin, ({ fields: f, line }) => {
    if (header === null) {
      header = f;
      for (const col of REQUIRED) {
        if (f.includes(col)) continue;
        // Column names are no secret; showing them explains a wrong separator or quote at once.
        const seen = f.map((h) => JSON.stringify(h)).join(', ');
        throw new DdaError('TRACE_INVALID', `${origin}: missing column "${col}" in the header line, which has ${f.length === 1 ? 'one column' : `${f.length} columns`}: ${seen.length > 200 ? `${seen.slice(0, 200)}…` : seen} (comma-separated, as in ${REQUIRED.join(',')})`);
      }
      [iId, iAt, iDur, iBuild] = ['job_id', 'created_at_iso', 'duration_s', 'build_id'].map((name) => f.indexOf(name)) as [number, number, number, number];
      return;
    }
    if (f.length !== header.length) throw new DdaError('TRACE_INVALID', `${origin}: line ${line}: ${f.length} fields, the header has ${header.length}`);
    const at = Date.parse(f[iAt] ?? '');
    const dur = Number(f[iDur]);
    if (!Number.isFinite(at)) throw new DdaError('TRACE_INVALID', `${origin}: line ${line}: created_at_iso "${f[iAt] ?? ''}" is not a date`);
    if (!Number.isFinite(dur) || dur < 0) throw new DdaError('TRACE_INVALID', `${origin}: line ${line}: duration_s "${f[iDur] ?? ''}" is not a non-negative number`);
    const id = f[iId] ?? '';
    jobs.push({ id: id || `line-${line}`, buildId: iBuild >= 0 ? (f[iBuild] ?? '') : '', createdAt: at, durationMs: Math.round(dur * 1000), demand: DEFAULT_DEMAND });
  });
  if (header === null) throw new DdaError('TRACE_INVALID', `${origin}: the file is empty (expected a header line: ${REQUIRED.join(',')})`);
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

/** The whole days a trace covers: from the UTC midnight before its first job to the one after its last. */
export function traceSpan(jobs: readonly TraceJob[]): { start: number; end: number } {
  const first = jobs[0]!.createdAt;
  const last = jobs.reduce((m, j) => Math.max(m, j.createdAt), first);
  return { start: first - (first % 86_400_000), end: last - (last % 86_400_000) + 86_400_000 };
}

/** Jobs from `from` (default: the trace's first day, UTC midnight) for `days` days. */
export function traceWindow(jobs: readonly TraceJob[], opts: { from?: number; days?: number }): { jobs: TraceJob[]; start: number; end: number } {
  const span = traceSpan(jobs);
  const start = opts.from ?? span.start;
  const end = opts.days !== undefined ? start + opts.days * 86_400_000 : span.end;
  const inWindow = jobs.filter((j) => j.createdAt >= start && j.createdAt < end);
  if (inWindow.length === 0) throw new DdaError('TRACE_INVALID', `no jobs between ${new Date(start).toISOString()} and ${new Date(end).toISOString()}`);
  return { jobs: inWindow, start, end };
}
