import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { overlayTrace, peakConcurrent } from '../../src/sim/trace-generate.js';
import { parseTrace } from '../../src/sim/trace.js';
import { cliPath } from '../helpers/traces.js';

// Two builds: b1 fans out to three jobs at 10:00 (600 s each), b2 is one job at 10:07 (60 s).
const SMALL = [
  'job_id,project,created_at_iso,start_at_iso,duration_s,build_id,n_jobs_in_build,duration_is_build_mean',
  'j1,acme/web,2016-02-13T10:00:00Z,2016-02-13T10:00:00Z,600,b1,3,1',
  'j2,acme/web,2016-02-13T10:00:00Z,2016-02-13T10:00:00Z,600,b1,3,1',
  'j3,acme/web,2016-02-13T10:00:00Z,2016-02-13T10:00:00Z,600,b1,3,1',
  'j4,"acme/api, v2",2016-02-13T10:07:00Z,2016-02-13T10:07:00Z,60,b2,1,0',
].join('\n');

describe('overlayTrace', () => {
  it('overlays the copies, each shifted and with ids of its own: job count, peak, and the same bytes every time', () => {
    const r = overlayTrace(SMALL, { copies: 3, shiftMinutes: 5 });
    expect(r.jobs).toBe(12);
    const jobs = parseTrace(r.csv);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(12);
    expect(new Set(jobs.map((j) => j.buildId))).toEqual(new Set(['b1', 'b2', 'b1~1', 'b2~1', 'b1~2', 'b2~2']));
    // Copy 2 starts 10 minutes after copy 0, and keeps its durations.
    const j1c2 = jobs.find((j) => j.id === 'j1~2')!;
    expect(new Date(j1c2.createdAt).toISOString()).toBe('2016-02-13T10:10:00.000Z');
    expect(j1c2.durationMs).toBe(600_000);
    // At 10:07 copy 0's j4 runs beside the fan-outs of copies 0 and 1: 1 + 3 + 3 (at 10:12 again,
    // one copy later).
    expect(r.peakConcurrent).toBe(7);
    expect(r.first).toBe(Date.parse('2016-02-13T10:00:00Z'));
    expect(r.last).toBe(Date.parse('2016-02-13T10:17:00Z'));
    // A quoted field stays one field, its project made distinct.
    expect(r.csv).toContain('j4~1,"acme/api, v2~1",2016-02-13T10:12:00Z,2016-02-13T10:12:00Z,60,b2~1,1,0');
    expect(overlayTrace(SMALL, { copies: 3, shiftMinutes: 5 }).csv).toBe(r.csv);
  });

  it('one copy is the trace itself; without a shift the copies stack', () => {
    expect(parseTrace(overlayTrace(SMALL, { copies: 1 }).csv)).toEqual(parseTrace(SMALL));
    expect(overlayTrace(SMALL, { copies: 4, shiftMinutes: 0 }).peakConcurrent).toBe(4 * (3 + 1));
  });

  it('peakConcurrent: a job that ends as another starts does not overlap it', () => {
    const at = Date.parse('2016-01-01T00:00:00Z');
    const job = (id: string, s: number, d: number) => ({ id, buildId: '', createdAt: at + s * 1000, durationMs: d * 1000, demand: parseTrace(SMALL)[0]!.demand });
    expect(peakConcurrent([job('a', 0, 10), job('b', 10, 10), job('c', 5, 1)])).toBe(2);
    expect(peakConcurrent([])).toBe(0);
  });

  it('rejects a bad trace with the line that is wrong, and bad options by name', () => {
    expect(() => overlayTrace(`${SMALL}\nj5,x,never,never,1,b,1,0`, { copies: 2 }, 'in.csv')).toThrow(/in.csv: line 6: created_at_iso "never" is not a date/);
    expect(() => overlayTrace(SMALL, { copies: 0 })).toThrow(/copies must be a positive integer/);
    expect(() => overlayTrace(SMALL, { copies: 2, shiftMinutes: -1 })).toThrow(/shift must be a non-negative number of minutes/);
  });
});

describe('drone-dynamic-agents trace generate', () => {
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [cliPath(), ...args], { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '' } });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const dir = mkdtempSync(join(tmpdir(), 'dda-gen-'));
  const input = join(dir, 'small.csv');
  writeFileSync(input, SMALL);

  it('writes the overlaid trace and says what it holds in one line', () => {
    const out = join(dir, 'big.csv');
    const r = cli('trace', 'generate', '--trace', input, '--copies', '3', '--out', out);
    expect(r).toEqual({ code: 0, err: '', out: `wrote ${out}: 12 jobs (3 copies, 5 min apart), at most 7 running at once, 2016-02-13 to 2016-02-13\n` });
    expect(readFileSync(out, 'utf8')).toBe(overlayTrace(SMALL, { copies: 3 }).csv);
  });

  it.each([
    [['--copies', '0', '--out', 'x.csv'], /--copies must be a positive integer, not "0"/],
    [['--copies', 'many', '--out', 'x.csv'], /--copies must be a positive integer, not "many"/],
    [['--copies', '2', '--out', 'x.csv', '--shift-minutes', '-5'], /--shift-minutes must be a non-negative number, not "-5"/],
    [['--copies', '2'], /required option '--out <file>' not specified/],
    [['--copies', '2', '--out', 'x.csv', '--trace', '/nonexistent/t.csv'], /cannot read trace \/nonexistent\/t.csv: ENOENT/],
    [['--copies', '2', '--out', '/nonexistent/dir/x.csv'], /cannot write --out \/nonexistent\/dir\/x.csv: ENOENT/],
  ])('trace generate %j: one line, exit 2', (args, message) => {
    const r = cli('trace', 'generate', ...(args.includes('--trace') ? [] : ['--trace', input]), ...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.out).toBe('');
  });
});
