import { parse } from 'csv-parse/sync';
import { DdaError } from '../domain/errors.js';
import { parseTrace, type TraceJob } from './trace.js';

/**
 * A bigger trace made from a real one, for scale tests: `copies` copies of it overlaid, copy k
 * shifted later by k × `shiftMinutes`, each with ids of its own (job, build, project). Every copy
 * keeps the real trace's shape (bursts, build fan-out, durations, the hours of the day); together
 * they look like one organisation running that many projects at once. The default shift is
 * small (5 minutes) so that busy hours overlap, as a big organisation's do: 13 copies of the
 * shared 200-day trace make 150,969 jobs with 105 running at once at the peak, where a shift of
 * a day gives only 57. Deterministic: the same input and options give the same bytes.
 */
export interface OverlayOptions {
  copies: number;
  /** Shift between consecutive copies, minutes (default 5). */
  shiftMinutes?: number;
}

export interface OverlayResult {
  /** The generated trace, CSV with the input's header. */
  csv: string;
  jobs: number;
  /** The most jobs running at once if each ran as soon as it was queued. */
  peakConcurrent: number;
  /** First and last queue times (ms epoch). */
  first: number;
  last: number;
}

const SHIFTED = ['created_at_iso', 'start_at_iso'] as const;
/** Columns made distinct per copy (absent ones are skipped). */
const RENAMED = ['job_id', 'build_id', 'project'] as const;

export function overlayTrace(text: string, o: OverlayOptions, origin = 'trace'): OverlayResult {
  if (!Number.isInteger(o.copies) || o.copies < 1) throw new DdaError('USAGE', `copies must be a positive integer, not ${o.copies}`);
  const shiftMs = Math.round((o.shiftMinutes ?? 5) * 60_000);
  if (!Number.isFinite(shiftMs) || shiftMs < 0) throw new DdaError('USAGE', `shift must be a non-negative number of minutes, not ${o.shiftMinutes}`);
  // The input must be a trace the simulator reads: its errors name the line.
  parseTrace(text, origin);
  const [header, ...body] = parse(text, { bom: true, trim: true, skip_empty_lines: true, relax_column_count: true }) as string[][];
  const cols = header!;
  const shifted = SHIFTED.map((c) => cols.indexOf(c)).filter((i) => i >= 0);
  const renamed = RENAMED.map((c) => cols.indexOf(c)).filter((i) => i >= 0);
  const lines = [cols.map(quote).join(',')];
  for (let k = 0; k < o.copies; k++) {
    for (const row of body) {
      const out = row.slice();
      for (const i of renamed) if (out[i]) out[i] = k === 0 ? out[i]! : `${out[i]}~${k}`;
      for (const i of shifted) {
        const t = Date.parse(out[i] ?? '');
        if (Number.isFinite(t)) out[i] = iso(t + k * shiftMs);
      }
      lines.push(out.map(quote).join(','));
    }
  }
  const csv = `${lines.join('\n')}\n`;
  const jobs = parseTrace(csv, 'generated trace');
  return { csv, jobs: jobs.length, peakConcurrent: peakConcurrent(jobs), first: jobs[0]!.createdAt, last: jobs.at(-1)!.createdAt };
}

/** The most jobs running at once, each from its queue time for its duration (no wait for an agent). */
export function peakConcurrent(jobs: readonly TraceJob[]): number {
  const edges: [number, number][] = [];
  for (const j of jobs) {
    if (j.durationMs <= 0) continue;
    edges.push([j.createdAt, 1], [j.createdAt + j.durationMs, -1]);
  }
  // An end and a start at one instant do not overlap: ends first.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, d] of edges) peak = Math.max(peak, (now += d));
  return peak;
}

/** ISO 8601 as the shared traces write it: whole seconds, `Z`. */
const iso = (t: number) => new Date(t).toISOString().replace(/\.000Z$/, 'Z');

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
