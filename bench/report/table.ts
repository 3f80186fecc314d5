import type { RunResult } from '../scenario.js';

export interface Row {
  label: string;
  r: RunResult | null;
  /** Cost of the lower bound, to divide by. */
  lowerBound: number;
}

const f = (n: number, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

/** One table of policies for a billing × concurrency setting; the lower bound is its own row. */
export function formatTable(title: string, rows: readonly Row[], o: { days: number; price: number; spotPrice: number; lbHours: number }): string {
  const head = ['policy', 'cost $', '$/month', `spot $`, 'inst-h', 'util', '×LB', 'p50 s', 'p95 s', 'p99 s', 'max s', 'done', 'killed', 'launch', 'idle-empty h'];
  const month = 365.25 / 12 / o.days;
  const body: string[][] = [];
  for (const { label, r, lowerBound } of rows) {
    if (!r) {
      body.push([label, f(lowerBound, 2), f(lowerBound * month, 2), f((o.lbHours * o.spotPrice), 2), f(o.lbHours, 1), '100%', '1.00', '0', '0', '0', '0', '', '', '', '0']);
      continue;
    }
    const m = r.metrics;
    body.push([
      label,
      f(m.cost_usd, 2),
      f(m.cost_usd * month, 2),
      f(m.paid_hours * o.spotPrice, 2),
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
      f(m.idle_empty_hours, 1),
    ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [title, line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The same table as Markdown, for docs/benchmarks.md. */
export function markdownTable(rows: readonly Row[], o: { days: number; lbHours: number }): string {
  const month = 365.25 / 12 / o.days;
  const out = ['| policy | cost $ | $/month | inst-h | util | ×LB | p50 s | p95 s | p99 s | max s | done | killed | launches | idle-empty h |', '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|'];
  for (const { label, r, lowerBound } of rows) {
    if (!r) {
      out.push(`| ${label} | ${f(lowerBound, 2)} | ${f(lowerBound * month, 2)} | ${f(o.lbHours, 1)} | 100% | 1.00 | 0 | 0 | 0 | 0 | | | | 0 |`);
      continue;
    }
    const m = r.metrics;
    out.push(`| ${label} | ${f(m.cost_usd, 2)} | ${f(m.cost_usd * month, 2)} | ${f(m.instance_hours, 1)} | ${Math.round(m.utilisation * 100)}% | ${f(m.cost_usd / lowerBound, 2)} | ${f(m.wait_p50_s)} | ${f(m.wait_p95_s)} | ${f(m.wait_p99_s)} | ${f(m.wait_max_s)} | ${m.jobs_completed}/${m.jobs} | ${m.jobs_killed} | ${m.launches} | ${f(m.idle_empty_hours, 1)} |`);
  }
  return out.join('\n');
}
