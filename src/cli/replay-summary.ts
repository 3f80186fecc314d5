import type { Config } from '../config/config.js';
import { demandKey } from '../domain/pool.js';
import { formatReport, humanSeconds as human, type SimReport } from '../sim/report.js';
import type { Comparison } from '../sim/peers/compare.js';

/** What the embedded replay ran: the settings its summary states. */
export interface ReplaySettings {
  /** The trace as the user should read its name (relative to the working directory where it is inside it). */
  trace: string;
  seed: number;
  config: Config;
}

export function billingText(b: Config['planner']['billing']): string {
  if (b.periodSeconds === 1) return `per-second (${b.minimumSeconds} s minimum)`;
  if (b.periodSeconds === 3_600 && b.minimumSeconds <= 3_600) return 'hourly';
  return `per ${b.periodSeconds} s (${b.minimumSeconds} s minimum)`;
}

/** The settings block: trace, window, pools, limits, billing, idle rule, warm pool. */
export function settingsLines(s: ReplaySettings, r: SimReport): [string, string][] {
  const { pools, planner } = s.config;
  const perSecond = planner.billing.periodSeconds === 1;
  const idle = !perSecond
    ? `keep or let go ${planner.renewalWindowSeconds} s before each paid hour ends`
    : planner.idleRule === 'grace'
      ? `let an idle agent go after ${planner.idleGraceSeconds} s`
      : `let an idle agent go when keeping it costs more than the boot it may save (${planner.idleGraceSeconds} s until an hour of the day has been watched, at most ${planner.idleKeepMaxSeconds} s)`;
  const warm = pools.map((p) => {
    const w = p.warmPool;
    const what = !w || w.size === 0 ? 'off' : w.size === 'auto' ? `auto (aiming at a p95 wait of ${w.waitTargetSeconds} s)` : `${w.size} parked instance${w.size === 1 ? '' : 's'}`;
    return pools.length === 1 ? what : `${p.name} ${what}`;
  });
  return [
    ['trace', `${s.trace} (${r.jobs} jobs), seed ${s.seed}`],
    ['window', `${r.from.slice(0, 10)} → ${r.to.slice(0, 10)} (${r.days} days)`],
    ...pools.map((p): [string, string] => ['pool', `${p.name}: ${demandKey(p.demand)}, min ${p.min}, max ${p.max}, ${p.concurrency} build${p.concurrency === 1 ? '' : 's'} per instance, ${p.pricePerHour} USD/h`]),
    ['limits', `fleet max ${planner.maxInstances} instances, budget ${Number.isFinite(planner.budgetPerHour) ? `${planner.budgetPerHour} USD/h` : 'none'}`],
    ['billing', billingText(planner.billing)],
    ['idle rule', idle],
    ['warm pool', warm.join(', ')],
  ];
}

/** The table of our run beside the peers' on the same traffic, and the lower bound. */
export function comparisonLines(r: SimReport, c: Comparison): string[] {
  const rows: [string, string, string, string][] = [
    ['policy', 'cost', 'wait p50 / p95 / max', 'jobs done'],
    ['ours (drone-dynamic-agents)', usd(r.cost_usd + r.storage_usd), waits(r.wait_p50_s, r.wait_p95_s, r.wait_max_s), `${r.jobs_completed}/${r.jobs}`],
    ...c.rows.map((p): [string, string, string, string] => [p.label, usd(p.cost_usd), waits(p.wait_p50_s, p.wait_p95_s, p.wait_max_s), `${p.jobs_completed}/${p.jobs}`]),
    ['lower bound', usd(c.lower_bound_usd), 'no wait', ''],
  ];
  const w = [0, 1, 2].map((k) => Math.max(...rows.map((row) => row[k]!.length)));
  const line = (row: [string, string, string, string]) => `  ${row[0].padEnd(w[0]!)}  ${row[1].padStart(w[1]!)}  ${row[2].padEnd(w[2]!)}  ${row[3]}`.trimEnd();
  return rows.map(line);
}

export function formatSummary(s: ReplaySettings, r: SimReport, c: Comparison | string): string {
  const block = (rows: [string, string][]) => {
    const w = Math.max(...rows.map(([k]) => k.length));
    return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join('\n');
  };
  const out = [
    'settings',
    block(settingsLines(s, r)),
    '',
    'our daemon',
    formatReport(r)
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
    '',
  ];
  if (typeof c === 'string') out.push(`the other autoscalers: ${c}`);
  else {
    out.push(
      'on the same traffic, the same simulated CI server and cloud (cost: compute and disks, USD)',
      ...comparisonLines(r, c),
      '  lower bound: the jobs\' own run time billed per second, no idle agent, no boot. The peers are',
      '  modelled from their published code (docs/benchmarks.md); npm run bench compares them on 200 days.',
    );
  }
  return out.join('\n');
}

const usd = (n: number) => n.toFixed(2);
const waits = (...s: number[]) => s.map(human).join(' / ');
