import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/cli/paths.js';
import { cliPath, fourteenDayTrace } from '../helpers/traces.js';

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [cliPath(), ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 256 * 1024 * 1024, env: { PATH: process.env.PATH ?? '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('drone-dynamic-agents --version and --help', () => {
  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = cli(flag);
      expect(r).toEqual({ code: 0, out: `${version}\n`, err: '' });
    }
  });

  it('--help lists the commands, and each command its options', () => {
    const r = cli('--help');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    for (const c of ['simulate', 'run', 'diagrams']) expect(r.out).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    expect(r.out).toMatch(/--version/);
    const sim = cli('simulate', '--help');
    expect(sim.code).toBe(0);
    expect(sim.out).toMatch(/--billing <mode> .*\(choices: "per-second",\s+"hourly"\)/s);
    for (const o of ['--trace <file>', '--days <n>', '--seed <n>', '--idle-grace <seconds>', '--max <n>']) expect(sim.out).toContain(o);
  });
});

describe('drone-dynamic-agents simulate', () => {
  it('--json prints one object with the report fields, every job completed, zero instances left', () => {
    const trace = fourteenDayTrace();
    const r = cli('simulate', '--trace', trace.path, '--days', '14', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const rep = JSON.parse(lines[0]!) as Record<string, number>;
    for (const k of ['jobs', 'jobs_completed', 'instance_hours', 'cost_usd', 'wait_p50_s', 'wait_p95_s', 'wait_max_s', 'peak_instances', 'launches']) expect(rep).toHaveProperty(k);
    expect(rep.jobs_completed).toBe(rep.jobs);
    expect(rep.instances_left).toBe(0);
    console.log(`simulate --days 14 (${trace.label}): ${lines[0]}`);
  }, 120_000);

  it('prints a readable report without --json', () => {
    const r = cli('simulate', '--trace', fourteenDayTrace().path, '--days', '2');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/cost\s+\d+\.\d\d USD/);
    expect(r.out).toMatch(/job wait p50\/p95\/max/);
  }, 60_000);

  it.each([
    [['simulate', '--trace', '/nonexistent/trace.csv'], /cannot read trace \/nonexistent\/trace.csv: ENOENT/],
    [['simulate', '--trace', 'x.csv', '--bogus'], /unknown option '--bogus'/],
    [['simulate', '--trace', 'x.csv', '--days', 'many'], /--days must be a positive number, not "many"/],
    [['simulate', '--trace', 'x.csv', '--from', 'someday'], /--from must be an ISO date/],
    [['simulate'], /required option '--trace <file>' not specified/],
    [['simulate', '--trace', 'x.csv', '--billing', 'monthly'], /option '--billing <mode>' argument 'monthly' is invalid. Allowed choices are per-second, hourly./],
    [['simulate', '--trace', 'x.csv', '--idle-grace', '-5'], /--idle-grace must be a non-negative number, not "-5"/],
    [['simulate', '--trace', 'x.csv', '--max', '2.5'], /--max must be a non-negative integer, not "2.5"/],
    [['simulate', '--trace', 'x.csv', '--warm-buffer', 'some'], /--warm-buffer must be a non-negative integer, not "some"/],
    [['simulate', '--trace', 'x.csv', '--concurrency', '0'], /--concurrency must be a positive integer, not "0"/],
    [['simulate', '--trace', 'x.csv', '--seed', '1.5'], /--seed must be an integer, not "1.5"/],
    [['run', '--billing', 'weekly'], /option '--billing <mode>' argument 'weekly' is invalid/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('bad input %j: one-line error and exit code 2', (args, message) => {
    const r = cli(...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')[0]).toMatch(message);
    expect(r.out).toBe('');
  });

  it('a garbled trace names the line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dda-'));
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'job_id,created_at_iso,duration_s\n1,2016-03-01T10:00:00Z,600\n2,2016-03-01T10:00:00Z,ten\n');
    const r = cli('simulate', '--trace', bad);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe(`drone-dynamic-agents: TRACE_INVALID: ${bad}: line 3: duration_s "ten" is not a non-negative number`);
  });

  it('an invalid config file names the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dda-'));
    const cfg = join(dir, 'c.json');
    writeFileSync(cfg, JSON.stringify({ pools: [{ name: 'default', min: 5, max: 2 }] }));
    const r = cli('simulate', '--trace', fourteenDayTrace().path, '--config', cfg);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toMatch(/pools.default: min \(5\) is above max \(2\)/);
  });
});

describe('drone-dynamic-agents run (nothing configured)', () => {
  it('replays the bundled trace on the simulated cloud: lifecycle logs, then a summary', () => {
    const r = cli('run');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    const lifecycle = lines.filter((l) => l.includes('"msg":"lifecycle"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lifecycle.length).toBeGreaterThan(100);
    for (const k of ['instance', 'pool', 'from', 'to', 'event', 'reason']) expect(lifecycle[0]).toHaveProperty(k);
    expect(lifecycle.some((l) => l.to === 'terminated')).toBe(true);
    // Simulated time: the log lines carry the trace's dates.
    expect(String(lifecycle[0]!.time)).toMatch(/^2016-0[67]/);
    expect(r.out).toMatch(/jobs\s+2073 \(completed 2073, killed 0\)/);
    expect(r.out).toMatch(/instances left\s+0/);
  }, 120_000);
});
