import type { RunResult } from '../scenario.js';

export interface Row {
  label: string;
  r: RunResult | null;
  /** Cost of the lower bound, to divide by. */
  lowerBound: number;
}

const f = (n: number, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

/** What every table says under its header: what the cost columns hold. */
export const COST_NOTE =
  'cost $ = compute $ + disk $ (storage of running and parked instances, GB-month priced); ×LB = cost $ / lower bound, storage included; the lower bound is compute only (job time, zero wait); spot $ = compute hours at the spot price + disk $';

/** One table of policies for a billing × concurrency setting; the lower bound is its own row. */
export function formatTable(title: string, rows: readonly Row[], o: { days: number; price: number; spotPrice: number; lbHours: number }): string {
  const head = ['policy', 'cost $', 'compute $', 'disk $', '$/month', `spot $`, 'inst-h', 'util', '×LB', 'p50 s', 'p95 s', 'p99 s', 'max s', 'done', 'killed', 'launch', 'warm st', 'idle-empty h'];
  const month = 365.25 / 12 / o.days;
  const body: string[][] = [];
  for (const { label, r, lowerBound } of rows) {
    if (!r) {
      body.push([label, f(lowerBound, 2), f(lowerBound, 2), f(0, 2), f(lowerBound * month, 2), f(o.lbHours * o.spotPrice, 2), f(o.lbHours, 1), '100%', '1.00', '0', '0', '0', '0', '', '', '', '', '0']);
      continue;
    }
    const m = r.metrics;
    body.push([
      label,
      f(m.cost_usd, 2),
      f(m.compute_usd, 2),
      f(m.storage_usd, 2),
      f(m.cost_usd * month, 2),
      f(spotUsd(m, o.spotPrice), 2),
      f(m.instance_hours, 1),
      `${Math.round(m.utilisation * 100)}%`,
      f(m.cost_usd / lowerBound, 2),
      f(m.wait_p50_s),
      f(m.wait_p95_s),
      f(m.wait_p99_s),
      f(m.wait_max_s),
      `${m.jobs_completed}/${m.jobs}`,
      String(m.jobs_killed),
      String(m.launches),
      String(m.warm_starts),
      f(m.idle_empty_hours, 1),
    ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [title, `(${COST_NOTE})`, line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The policy's bill had its compute run on spot at `spotPrice`; disks cost the same either way. */
export function spotUsd(m: RunResult['metrics'], spotPrice: number): number {
  return m.paid_hours * spotPrice + m.storage_usd;
}

/** The same table as Markdown, for docs/benchmarks.md. */
export function markdownTable(rows: readonly Row[], o: { days: number; lbHours: number }): string {
  const month = 365.25 / 12 / o.days;
  const out = ['| policy | cost $ | compute $ | disk $ | $/month | inst-h | util | ×LB | p50 s | p95 s | p99 s | max s | done | killed | launches | warm starts | idle-empty h |', '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|'];
  for (const { label, r, lowerBound } of rows) {
    if (!r) {
      out.push(`| ${label} | ${f(lowerBound, 2)} | ${f(lowerBound, 2)} | 0.00 | ${f(lowerBound * month, 2)} | ${f(o.lbHours, 1)} | 100% | 1.00 | 0 | 0 | 0 | 0 | | | | | 0 |`);
      continue;
    }
    const m = r.metrics;
    out.push(`| ${label} | ${f(m.cost_usd, 2)} | ${f(m.compute_usd, 2)} | ${f(m.storage_usd, 2)} | ${f(m.cost_usd * month, 2)} | ${f(m.instance_hours, 1)} | ${Math.round(m.utilisation * 100)}% | ${f(m.cost_usd / lowerBound, 2)} | ${f(m.wait_p50_s)} | ${f(m.wait_p95_s)} | ${f(m.wait_p99_s)} | ${f(m.wait_max_s)} | ${m.jobs_completed}/${m.jobs} | ${m.jobs_killed} | ${m.launches} | ${m.warm_starts} | ${f(m.idle_empty_hours, 1)} |`);
  }
  return `${out.join('\n')}\n\n${COST_NOTE}.`;
}
