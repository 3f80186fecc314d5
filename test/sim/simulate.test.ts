import { describe, expect, it } from 'vitest';
import { defaultConfig, parseConfig } from '../../src/config/config.js';
import { simulate } from '../../src/sim/simulate.js';
import { parseTrace, readTrace, traceWindow } from '../../src/sim/trace.js';
import { fourteenDayTrace } from '../helpers/traces.js';

describe('simulation of real traffic', () => {
  it('replays the first 14 days: every job completes, no build is killed, the fleet ends at zero', async () => {
    const trace = fourteenDayTrace();
    const w = traceWindow(readTrace(trace.path), { days: 14 });
    const transitions: string[] = [];
    const { report } = await simulate({ jobs: w.jobs, start: w.start, end: w.end, config: defaultConfig(), onTransition: (t) => transitions.push(`${t.from}>${t.to}`) });
    console.log(`14 days of ${trace.label}:`, JSON.stringify(report));
    expect(report.jobs).toBe(w.jobs.length);
    expect(report.jobs_completed).toBe(report.jobs);
    expect(report.jobs_killed).toBe(0);
    expect(report.instances_left).toBe(0);
    expect(report.launches).toBeGreaterThan(0);
    expect(report.cost_usd).toBeGreaterThan(0);
    // Every instance went through the whole lifecycle the user named.
    for (const step of ['requested.launching>booting.instance', 'booting.agent>task-running.idle', 'task-running.idle>draining.stopping', 'draining.terminating>terminated']) {
      expect(transitions).toContain(step);
    }
  }, 120_000);

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
