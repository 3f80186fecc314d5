import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/config.js';
import { simulate } from '../src/sim/simulate.js';
import { readTrace, traceWindow } from '../src/sim/trace.js';

/**
 * One replay for the scale benchmark, in a process of its own so its CPU time and peak RSS are
 * its own: `node scale.js --trace FILE [--days N] [--max N]`. Prints one JSON line. `--max`
 * lifts the pool's and the fleet's max (and the budget with them) for a trace bigger than the
 * defaults are sized for; without it the defaults, as `simulate` runs them.
 */
export interface ScaleResult {
  trace: string;
  days: number;
  jobs: number;
  jobs_completed: number;
  peak_instances: number;
  launches: number;
  cost_usd: number;
  wall_s: number;
  cpu_user_s: number;
  cpu_system_s: number;
  peak_rss_mb: number;
  simulated_days_per_wall_second: number;
}

export async function scaleRun(o: { trace: string; days?: number; max?: number }): Promise<ScaleResult> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const config = parseConfig(o.max === undefined ? {} : { pools: [{ name: 'default', max: o.max }], planner: { maxInstances: o.max, budgetPerHour: o.max } });
  const w = traceWindow(readTrace(o.trace), o.days !== undefined ? { days: o.days } : {});
  const { report } = await simulate({ jobs: w.jobs, start: w.start, end: w.end, config, world: { seed: 1 } });
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  const r2 = (n: number) => Math.round(n * 100) / 100;
  return {
    trace: o.trace,
    days: report.days,
    jobs: report.jobs,
    jobs_completed: report.jobs_completed,
    peak_instances: report.peak_instances,
    launches: report.launches,
    cost_usd: report.cost_usd,
    wall_s: r2(wall),
    cpu_user_s: r2(cpu.user / 1e6),
    cpu_system_s: r2(cpu.system / 1e6),
    // resourceUsage's maxRSS is in kilobytes: the whole process, trace and all.
    peak_rss_mb: r2(process.resourceUsage().maxRSS / 1024),
    simulated_days_per_wall_second: r2(report.days / wall),
  };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const { values } = parseArgs({ options: { trace: { type: 'string' }, days: { type: 'string' }, max: { type: 'string' } } });
  if (!values.trace) throw new Error('scale.js: --trace FILE is required');
  const r = await scaleRun({ trace: values.trace, ...(values.days ? { days: Number(values.days) } : {}), ...(values.max ? { max: Number(values.max) } : {}) });
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
