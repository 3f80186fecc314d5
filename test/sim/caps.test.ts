import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { CapsWatch } from '../../src/sim/caps-watch.js';
import { formatReport } from '../../src/sim/report.js';
import { simulate } from '../../src/sim/simulate.js';
import { parseTrace } from '../../src/sim/trace.js';
import type { Decision } from '../../src/planner/types.js';

/** Six 20-minute jobs at once, at 10:00 on a quiet day. */
const jobs = parseTrace(`job_id,created_at_iso,duration_s\n${[1, 2, 3, 4, 5, 6].map((n) => `${n},2016-03-01T10:00:00Z,1200`).join('\n')}\n`);
const start = Date.parse('2016-03-01T09:00:00Z');
const end = Date.parse('2016-03-01T13:00:00Z');
const replay = (planner: Record<string, unknown>, pool: Record<string, unknown> = {}) => simulate({ jobs, start, end, config: parseConfig({ pools: [{ name: 'default', ...pool }], planner }) });

describe('the report says which cap bound, for how long, and how many jobs waited behind it', () => {
  it('nothing binds with room for every job', async () => {
    const { report } = await replay({});
    expect(report.caps).toEqual({
      pool_max: { limits: { default: 16 }, bound_s: 0, jobs_waited: 0 },
      fleet_max: { limit: 16, bound_s: 0, jobs_waited: 0 },
      budget: { limit_usd_per_hour: 5, bound_s: 0, jobs_waited: 0 },
    });
    expect(formatReport(report)).toMatch(/^caps bound\s+none$/m);
  }, 30_000);

  it('the fleet max: two instances for six jobs, the other four wait a 20-minute build, twice', async () => {
    const { report } = await replay({ maxInstances: 2 });
    expect(report.jobs_completed).toBe(6);
    expect(report.peak_instances).toBe(2);
    const c = report.caps.fleet_max;
    expect(c.limit).toBe(2);
    // Held from the first plan until the last two jobs took the first two agents (two builds of 20 min, less a tick).
    expect(c.bound_s).toBeGreaterThan(30 * 60);
    expect(c.bound_s).toBeLessThan(45 * 60);
    // All six were waiting when the first plan held back four launches.
    expect(c.jobs_waited).toBe(6);
    expect(report.caps.pool_max.bound_s).toBe(0);
    expect(report.caps.budget.bound_s).toBe(0);
    expect(report.wait_max_s).toBeGreaterThan(40 * 60);
    expect(formatReport(report)).toMatch(/^caps bound\s+fleet max \(2\) for \d+ min, 6 jobs waited$/m);
  }, 30_000);

  it('the budget: 0.51 USD/h buys three instances at 0.17', async () => {
    const { report } = await replay({ budgetPerHour: 0.51 });
    expect(report.jobs_completed).toBe(6);
    expect(report.peak_instances).toBe(3);
    expect(report.caps.budget).toMatchObject({ limit_usd_per_hour: 0.51, jobs_waited: 6 });
    expect(report.caps.budget.bound_s).toBeGreaterThan(15 * 60);
    expect(report.caps.fleet_max.bound_s).toBe(0);
    expect(formatReport(report)).toMatch(/^caps bound\s+budget \(0\.51 USD\/h\) for \d+ min, 6 jobs waited$/m);
  }, 30_000);

  it('the pool max, the tightest of the three, is the one named', async () => {
    const { report } = await replay({ maxInstances: 4, budgetPerHour: 0.51 }, { max: 1 });
    expect(report.peak_instances).toBe(1);
    expect(report.caps.pool_max.bound_s).toBeGreaterThan(60 * 60);
    expect(report.caps.pool_max.jobs_waited).toBe(6);
    expect(report.caps.fleet_max.bound_s).toBe(0);
    expect(report.caps.budget.bound_s).toBe(0);
  }, 30_000);
});

describe('CapsWatch', () => {
  const hold = (pool: string, code: Extract<Decision, { kind: 'hold' }>['code']): Extract<Decision, { kind: 'hold' }> => ({ kind: 'hold', pool, code, reason: '' });
  it('counts a cap from the plan that holds on it to the next that does not, and the jobs of the pools it held', () => {
    const w = new CapsWatch();
    const pending = [
      { id: 'a', pool: 'x' },
      { id: 'b', pool: 'y' },
      { id: 'c', pool: null },
    ];
    w.step(0, [], () => pending);
    w.step(10_000, [hold('x', 'at-fleet-max'), hold('x', 'launch-backoff')], () => pending);
    w.step(25_000, [hold('x', 'at-fleet-max'), hold('y', 'over-budget')], () => pending);
    w.step(30_000, [], () => pending);
    w.step(90_000, [], () => {
      throw new Error('the queue is read only while a cap binds');
    });
    expect(w.result()).toEqual({
      pool_max: { boundMs: 0, jobsWaited: 0 },
      fleet_max: { boundMs: 20_000, jobsWaited: 1 },
      budget: { boundMs: 5_000, jobsWaited: 1 },
    });
  });
});
