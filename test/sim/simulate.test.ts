import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { DdaError } from '../../src/domain/errors.js';
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
  it('reads quoted headers and fields, quoted commas and line breaks, CRLF, a BOM and columns in any order', () => {
    const text =
      '\ufeff"duration_s","job_id",project,"created_at_iso","build_id"\r\n' +
      '600,"j1","acme, inc.",2016-03-01T10:00:00Z,b1\r\n' +
      '\r\n' +
      '30,j2,"multi\r\nline ""name""","2016-03-01T09:00:00Z",b2\r\n' +
      '5,,x,2016-03-01T11:00:00Z,\r\n';
    const jobs = parseTrace(text, 't.csv');
    expect(jobs.map((j) => [j.id, j.buildId, new Date(j.createdAt).toISOString(), j.durationMs])).toEqual([
      ['j2', 'b2', '2016-03-01T09:00:00.000Z', 30_000],
      ['j1', 'b1', '2016-03-01T10:00:00.000Z', 600_000],
      // No id: named after its line (the quoted line break above counts as a line).
      ['line-6', '', '2016-03-01T11:00:00.000Z', 5_000],
    ]);
  });
  it('a garbled row is a one-line error naming the file and its line', () => {
    const head = 'job_id,created_at_iso,duration_s\n1,2016-03-01T10:00:00Z,600\n';
    const cases: [string, string][] = [
      [`${head}2,2016-03-01T10:00:00Z\n`, 't.csv: line 3: 2 fields, the header has 3'],
      [`${head}2,2016-03-01T10:00:00Z,600,extra\n`, 't.csv: line 3: 4 fields, the header has 3'],
      [`${head}2,"2016-03-01T10:00:00Z"x,600\n`, 't.csv: line 3: a quoted field is followed by something other than a comma or the end of the line'],
      [`${head}2,"2016-03-01T10:00:00Z,600\n3,2016-03-01T10:00:00Z,600\n4,2016-03-01T10:00:00Z,600\n`, 't.csv: line 3: a quoted field opened here is never closed'],
      [`${head}"3,2016-03-01T10:00:00Z,600\n`, 't.csv: line 3: a quoted field opened here is never closed'],
      [`job_id,created_at_iso,duration_s\n"é",2016-03-01T10:00:00Z,600\n"ü,2016-03-01T10:00:00Z,600\n5,2016-03-01T10:00:00Z,600\n`, 't.csv: line 3: a quoted field opened here is never closed'],
    ];
    for (const [text, message] of cases) {
      let err: unknown;
      try {
        parseTrace(text, 't.csv');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DdaError);
      expect((err as DdaError).code).toBe('TRACE_INVALID');
      expect((err as DdaError).message).toBe(message);
    }
  });
  it('a window with no jobs is an error, not an empty run', () => {
    const jobs = parseTrace('job_id,created_at_iso,duration_s\n1,2016-03-01T10:00:00Z,600\n');
    expect(() => traceWindow(jobs, { from: Date.parse('2020-01-01'), days: 1 })).toThrow('no jobs between');
  });
});
