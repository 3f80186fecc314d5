import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReplay } from '../../src/cli/replay-command.js';
import { formatProgress, ProgressLine } from '../../src/cli/replay-progress.js';
import { parseConfig } from '../../src/config/config.js';

const D = 86_400_000;
const T0 = Date.parse('2016-06-27T00:00:00Z');

describe('the replay progress', () => {
  it('reads as one short line: simulated date and time, jobs done, instances, spend', () => {
    expect(formatProgress({ now: T0 + 5 * D + 14 * 3_600_000 + 5 * 60_000 + 59_000, jobsDone: 812, jobs: 2073, instances: 7, spentUsd: 52.104 })).toBe('2016-07-02 14:05  jobs  812/2073 done   7 instances  52.10 USD spent');
    expect(formatProgress({ now: T0, jobsDone: 0, jobs: 9, instances: 1, spentUsd: 0 })).toBe('2016-06-27 00:00  jobs 0/9 done   1 instance   0.00 USD spent');
  });

  const sample = (now: number) => () => ({ now, jobsDone: 1, jobs: 2, instances: 0, spentUsd: 0 });

  it('on a terminal: one line redrawn in place, at most every 250 ms of wall time', () => {
    const written: string[] = [];
    let wall = 0;
    const p = new ProgressLine({ write: (s: string) => written.push(s) }, true, () => wall);
    for (let k = 0; k < 1_000; k++) {
      wall = k; // a simulated instant every wall millisecond, for one second
      p.update(T0 + k * 60_000, sample(T0 + k * 60_000));
    }
    expect(written).toHaveLength(4);
    for (const w of written) expect(w).toMatch(/^\r\u001b\[K2016-06-\d\d \d\d:\d\d {2}jobs 1\/2 done/);
    expect(written.join('')).not.toContain('\n');
    p.done(sample(T0 + 2 * D)());
    expect(written.at(-1)).toBe('\r\u001b[K2016-06-29 00:00  jobs 1/2 done   0 instances  0.00 USD spent\n');
  });

  it('elsewhere: a line at the start of each simulated day, whatever the wall clock does, and the last state once', () => {
    const written: string[] = [];
    const p = new ProgressLine({ write: (s: string) => written.push(s) }, false, () => {
      throw new Error('a pipe does not read the wall clock');
    });
    for (let t = T0; t <= T0 + 3 * D; t += 10 * 60_000) p.update(t, sample(t));
    expect(written).toEqual(['2016-06-28 00:00  jobs 1/2 done   0 instances  0.00 USD spent\n', '2016-06-29 00:00  jobs 1/2 done   0 instances  0.00 USD spent\n', '2016-06-30 00:00  jobs 1/2 done   0 instances  0.00 USD spent\n']);
    p.done(sample(T0 + 3 * D)());
    expect(written).toHaveLength(3);
    p.done(sample(T0 + 3 * D + 60_000)());
    expect(written.at(-1)).toBe('2016-06-30 00:01  jobs 1/2 done   0 instances  0.00 USD spent\n');
  });
});

/** Two days: a burst on each morning. */
function tinyTrace(): string {
  const rows: string[] = [];
  for (const day of ['2016-06-27', '2016-06-28']) for (let k = 0; k < 4; k++) rows.push(`${day}-${k},${day}T09:0${k}:00Z,${600 + 60 * k}`);
  const path = join(mkdtempSync(join(tmpdir(), 'dda-replay-')), 'tiny.csv');
  writeFileSync(path, `job_id,created_at_iso,duration_s\n${rows.join('\n')}\n`);
  return path;
}

const collect = (isTTY = false) => {
  const chunks: string[] = [];
  return { write: (s: string) => chunks.push(s), isTTY, text: () => chunks.join('') };
};

describe('the embedded replay (runReplay)', () => {
  it('names its log file, serves the status page while it runs, and ends with its settings beside the peers and the bound', async () => {
    const trace = tinyTrace();
    const logFile = join(mkdtempSync(join(tmpdir(), 'dda-replay-')), 'replay.log');
    const out = collect();
    let health: number | undefined;
    const err = {
      ...collect(),
      write(s: string) {
        this.chunks.push(s);
        // The header names the page before the replay starts; ask it while the replay runs (paced).
        const url = /status page\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(s)?.[1];
        if (url) void fetch(`${url}/healthz`).then((r) => (health = r.status));
      },
      chunks: [] as string[],
    };
    await runReplay({ trace, logFile, level: 'info', pace: 86_400, out, err }, parseConfig({}));
    const e = err.chunks.join('');
    expect(e).toContain(`lifecycle log  ${logFile}`);
    expect(health).toBe(200);
    // Not a terminal: a line per simulated day.
    expect(e).toMatch(/^2016-06-28 00:00 {2}jobs 4\/8 done/m);
    expect(e).toMatch(/^2016-06-29 00:00 {2}jobs 8\/8 done/m);
    const log = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; time: string });
    expect(log.filter((l) => l.msg === 'lifecycle').length).toBeGreaterThan(8);
    expect(log[0]!.time).toMatch(/^2016-06-27/);
    const s = out.text();
    for (const setting of [/^ {2}trace\s+.*tiny\.csv \(8 jobs\), seed 1$/m, /^ {2}window\s+2016-06-27 → 2016-06-29 \(2 days\)$/m, /^ {2}pool\s+default: linux\/amd64, min 0, max 16, 1 build per instance, 0\.17 USD\/h$/m, /^ {2}limits\s+fleet max 16 instances, budget 5 USD\/h$/m, /^ {2}billing\s+per-second \(60 s minimum\)$/m, /^ {2}idle rule\s+let an idle agent go when/m, /^ {2}warm pool\s+off$/m]) expect(s).toMatch(setting);
    expect(s).toMatch(/^ {2}caps bound\s+none$/m);
    for (const row of ['ours (drone-dynamic-agents)', 'static pool of 4 (the peak)', 'drone-autoscaler min 0 max 4', 'woodpecker-autoscaler min 0 max 4', 'gocd-mesos', 'original drone-dynamic-agents', 'one fresh agent per job']) {
      expect(s).toMatch(new RegExp(`^ {2}${row.replace(/[()]/g, '\\$&')}\\s+\\d+\\.\\d\\d {2}\\S`, 'm'));
    }
    // The lower bound: 8 jobs of 600..780 s at 0.17 USD/h.
    const jobSeconds = 2 * (600 + 660 + 720 + 780);
    expect(s).toMatch(new RegExp(`^ {2}lower bound\\s+${((jobSeconds / 3600) * 0.17).toFixed(2)} {2}no wait$`, 'm'));
  }, 60_000);

  it('DDA_LOG_LEVEL=warn quiets the info lines; with --logs the header says the log goes to stdout', async () => {
    const trace = tinyTrace();
    const logFile = join(mkdtempSync(join(tmpdir(), 'dda-replay-')), 'replay.log');
    await runReplay({ trace, logFile, level: 'warn', statusPage: false, out: collect(), err: collect() }, parseConfig({}));
    expect(readFileSync(logFile, 'utf8')).toBe('');

    // --logs writes to fd 1 (as the CLI does); here only the summary stream is checked.
    const out = collect();
    const err = collect();
    await runReplay({ trace, logs: true, level: 'silent', statusPage: false, out, err }, parseConfig({}));
    expect(err.text()).toContain('lifecycle log  stdout');
    expect(err.text()).not.toContain('status page');
    expect(out.text()).toMatch(/^on the same traffic/m);
  }, 60_000);
});
