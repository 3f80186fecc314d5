import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { simulate } from '../../src/sim/simulate.js';
import { parseTrace, traceWindow } from '../../src/sim/trace.js';

describe('simulation of real traffic', () => {
  // The 14-day replay of the real trace runs once, through the built CLI: test/cli/cli.test.ts.

  it('with hourly billing keeps idle agents to the end of their paid hour', async () => {
    const jobs = parseTrace('job_id,created_at_iso,duration_s\n1,2016-03-01T10:00:00Z,600\n2,2016-03-01T10:00:00Z,600\n');
    const cfg = parseConfig({ planner: { billing: { periodSeconds: 3600, minimumSeconds: 3600 } } });
    const { report } = await simulate({ jobs, start: Date.parse('2016-03-01T09:00:00Z'), end: Date.parse('2016-03-01T12:00:00Z'), config: cfg });
    expect(report.jobs_completed).toBe(2);
    expect(report.launches).toBe(2);
    // Two instances, each kept just under one paid hour: billed two hours in all.
    expect(report.cost_usd).toBeCloseTo(2 * 0.17, 5);
    expect(report.instance_hours).toBeGreaterThan(1.5);
    expect(report.instance_hours).toBeLessThanOrEqual(2);
    expect(report.instances_left).toBe(0);
  }, 60_000);
});

describe('trace parsing', () => {
  it('names the bad line and field', () => {
    expect(() => parseTrace('job_id,created_at_iso,duration_s\n1,2016-03-01T10:00:00Z,600\n2,yesterday,5\n', 't.csv')).toThrow('t.csv: line 3: created_at_iso "yesterday" is not a date');
    expect(() => parseTrace('job_id,created_at_iso,duration_s\n1,2016-03-01T10:00:00Z,-4\n', 't.csv')).toThrow('line 2: duration_s "-4"');
    expect(() => parseTrace('id,when\n1,2\n', 't.csv')).toThrow('missing column "job_id"');
  });
  it('a window with no jobs is an error, not an empty run', () => {
    const jobs = parseTrace('job_id,created_at_iso,duration_s\n1,2016-03-01T10:00:00Z,600\n');
    expect(() => traceWindow(jobs, { from: Date.parse('2020-01-01'), days: 1 })).toThrow('no jobs between');
  });
});
