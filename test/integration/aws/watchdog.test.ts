import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildUserData, type UserDataInput } from '../../../src/cloud/aws/user-data.js';

/**
 * The instance watchdog, run for real: the script the daemon writes into user data, under the
 * shells an instance has, with stand-ins on the PATH for what needs an instance (Docker,
 * shutdown, syslog) and a clock the test owns (date, touch and sleep read or advance it, and
 * /proc/uptime follows it). systemd's timer is played by a loop that sleeps the timer's own
 * intervals, read from the unit in the same user data.
 */

const HOUR = 3600;
const DAY = 24 * HOUR;
const T0 = 1_750_000_000; // a fixed wall clock, so failures read the same every run

/** What the daemon writes for a pool with the defaults (60 min idle), a 2 h stop timeout and a 24 h hard limit. */
const realistic: UserDataInput = { cluster: 'ci-agents', stopTimeoutSeconds: 7200, watchdogIdleMinutes: 60, watchdogMaxHours: 24 };

/** The files user data writes with `cat > path <<'EOF'`, by path. */
function heredocs(userData: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const m of userData.matchAll(/^cat >>? (\S+) <<'EOF'\n([\s\S]*?)\nEOF$/gm)) files.set(m[1]!, m[2]!);
  return files;
}

function minutes(unit: string, key: string): number {
  const m = new RegExp(`^${key}=(\\d+)min$`, 'm').exec(unit);
  if (!m) throw new Error(`timer unit has no ${key}=<n>min`);
  return Number(m[1]) * 60;
}

function which(cmd: string): string {
  const r = spawnSync('bash', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} not found`);
  return r.stdout.trim();
}

const SHELLS = ['bash', 'sh'] as const; // the script says #!/bin/sh: bash on Amazon Linux, dash elsewhere

interface Run {
  /** Clock readings at which shutdown/poweroff/halt was called (the loop stops at the first). */
  shutdowns: number[];
  log: string;
  /** Calls the stand-ins did not expect (a changed docker invocation, IMDS). */
  unexpected: string;
}

class Instance {
  readonly dir = mkdtempSync(join(tmpdir(), 'dda-watchdog-'));
  private readonly script: string;
  private readonly boot: number;
  private readonly interval: number;

  constructor(
    userData: string,
    private readonly shell: string,
  ) {
    const files = heredocs(userData);
    const service = files.get('/etc/systemd/system/dda-watchdog.service') ?? '';
    const timer = files.get('/etc/systemd/system/dda-watchdog.timer') ?? '';
    const exec = /^ExecStart=(\S+)$/m.exec(service)?.[1];
    const source = exec === undefined ? undefined : files.get(exec);
    if (source === undefined) throw new Error('user data installs no watchdog script run by the service');
    expect(userData).toContain('systemctl enable --now dda-watchdog.timer');
    this.boot = minutes(timer, 'OnBootSec');
    this.interval = minutes(timer, 'OnUnitActiveSec');
    // The two paths only a real instance has, pointed into the sandbox; the rest runs as written.
    for (const path of ['/var/lib/dda-watchdog', '/proc/uptime']) expect(source).toContain(path);
    this.script = join(this.dir, 'dda-watchdog');
    writeFileSync(this.script, source.replaceAll('/var/lib/dda-watchdog', join(this.dir, 'var')).replaceAll('/proc/uptime', join(this.dir, 'uptime')));
    this.stubs();
    this.setBusy([]);
  }

  /** Intervals [from, to) of the wall clock during which a build container runs. */
  setBusy(intervals: Array<[number, number]>): void {
    writeFileSync(join(this.dir, 'busy'), intervals.map(([a, b]) => `${a} ${b}\n`).join(''));
  }

  /**
   * Boot at `at` and let the timer fire until shutdown or `until` (then the instance is
   * stopped from outside, keeping its disk). Before `fineFrom` the loop may tick every
   * `coarse` seconds instead of the timer's interval, so a span of days takes few runs.
   */
  run(at: number, until: number, { coarse, fineFrom }: { coarse: number; fineFrom: number } = { coarse: this.interval, fineFrom: at }): Run {
    const d = this.dir;
    rmSync(join(d, 'shutdown'), { force: true });
    writeFileSync(join(d, 'clock'), `${at}\n`);
    const driver = [
      'set -u',
      `F='${d}'`,
      'export F',
      `PATH="$F/bin:$PATH"`,
      'echo "$(cat "$F/clock")" > "$F/booted"',
      'echo "0.00 0.00" > "$F/uptime"',
      `sleep ${this.boot}`,
      `while [ "$(cat "$F/clock")" -lt ${until} ]; do`,
      `  ${this.shell} '${this.script}'`,
      '  [ -s "$F/shutdown" ] && exit 0',
      // Never past fineFrom in one coarse step: the fine part starts where the test says.
      `  left=$(( ${fineFrom} - $(cat "$F/clock") ))`,
      `  if [ "$left" -gt ${coarse} ]; then sleep ${coarse}; elif [ "$left" -gt 0 ]; then sleep "$left"; else sleep ${this.interval}; fi`,
      'done',
    ].join('\n');
    // A broken loop must fail the test, not hang it.
    const r = spawnSync('bash', ['-c', driver], { encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
    expect(r.error, `the watchdog loop did not finish: ${r.error?.message}`).toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    const read = (f: string) => (existsSync(join(d, f)) ? readFileSync(join(d, f), 'utf8') : '');
    return {
      shutdowns: read('shutdown')
        .split('\n')
        .filter(Boolean)
        .map((l) => Number(l.split(' ')[0])),
      log: read('log'),
      unexpected: read('unexpected'),
    };
  }

  private stubs(): void {
    const bin = join(this.dir, 'bin');
    mkdirSync(bin);
    const stub = (name: string, body: string) => {
      writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    const now = '$(<"$F/clock")';
    stub('date', `exec ${which('date')} -d "@${now}" "$@"`);
    // Timestamps on the state file come from the same clock.
    stub('touch', `exec ${which('touch')} -d "@${now}" "$@"`);
    stub(
      'sleep',
      [
        'case "$1" in *[!0-9]*) echo "sleep $*" >> "$F/unexpected"; exit 1;; esac',
        `t=$(( ${now} + $1 ))`,
        'echo "$t" > "$F/clock"',
        'echo "$(( t - $(<"$F/booted") )).37 0.00" > "$F/uptime"',
      ].join('\n'),
    );
    // The ECS agent and the CI agent's task (ECS-managed: it carries the cluster label) always
    // run; a build container (started by the CI agent through the socket, no label) only when
    // the test says so.
    stub(
      'docker',
      [
        `if [ "$1" != ps ] || [ "$2" != --format ] || [ "$3" != '{{.Names}}|{{.Label "com.amazonaws.ecs.cluster"}}' ]; then echo "docker $*" >> "$F/unexpected"; exit 1; fi`,
        'echo "ecs-agent|"',
        'echo "ecs-drone-agent-3-runner-a8e4f2c1b0d9|ci-agents"',
        `now=${now}`,
        'while read -r from to; do',
        '  if [ "$now" -ge "$from" ] && [ "$now" -lt "$to" ]; then echo "drone-6c1f0e2a9b7d4|"; break; fi',
        'done < "$F/busy"',
      ].join('\n'),
    );
    for (const cmd of ['shutdown', 'poweroff', 'halt']) stub(cmd, `echo "${now} ${cmd} $*" >> "$F/shutdown"`);
    stub('logger', 'echo "$*" >> "$F/log"');
    // The script needs no metadata service today; if it starts to, this test must be taught it.
    stub('curl', 'echo "curl $*" >> "$F/unexpected"; exit 7');
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const made: Instance[] = [];
function instance(input: UserDataInput, shell: string): Instance {
  const i = new Instance(buildUserData(input), shell);
  made.push(i);
  return i;
}
afterEach(() => {
  for (const i of made.splice(0)) i.dispose();
});

// Each test runs the script up to a few hundred times, a process or ten each.
describe.each(SHELLS)('the instance watchdog under %s', { timeout: 60_000 }, (shell) => {
  it('shuts an instance with no build container down once the idle limit has passed, and not before', () => {
    const i = instance(realistic, shell);
    const r = i.run(T0, T0 + 3 * HOUR);
    expect(r.unexpected).toBe('');
    expect(r.shutdowns).toHaveLength(1);
    // Idle from its first run a minute after boot; the timer fires every minute.
    expect(r.shutdowns[0]! - T0).toBeGreaterThanOrEqual(HOUR);
    expect(r.shutdowns[0]! - T0).toBeLessThanOrEqual(HOUR + 2 * 60);
    expect(r.log).toMatch(/no build container for \d+s; shutting down/);
  });

  it('never shuts down while a build container runs, however long, and counts idle time from its end', () => {
    const i = instance({ ...realistic, watchdogMaxHours: 0 }, shell);
    const end = T0 + 2 * DAY;
    i.setBusy([[T0 + 5 * 60, end]]);
    // Two days looked at every two hours, the last ten minutes of the build and after it every minute.
    const r = i.run(T0, end + 3 * HOUR, { coarse: 2 * HOUR, fineFrom: end - 10 * 60 });
    expect(r.unexpected).toBe('');
    expect(r.shutdowns).toHaveLength(1);
    // Idle from the last minute the build container was seen.
    expect(r.shutdowns[0]!).toBeGreaterThanOrEqual(end - 60 + HOUR);
    expect(r.shutdowns[0]!).toBeLessThanOrEqual(end + HOUR + 60);
  });

  it('enforces the hard maximum lifetime even while a build runs', () => {
    const i = instance(realistic, shell);
    i.setBusy([[T0, T0 + 7 * DAY]]);
    const r = i.run(T0, T0 + 2 * DAY, { coarse: 2 * HOUR, fineFrom: T0 + DAY - 10 * 60 });
    expect(r.unexpected).toBe('');
    expect(r.shutdowns).toHaveLength(1);
    expect(r.shutdowns[0]! - T0).toBeGreaterThanOrEqual(DAY);
    expect(r.shutdowns[0]! - T0).toBeLessThanOrEqual(DAY + 60);
    expect(r.log).toMatch(/past the hard maximum of 86400s; shutting down/);
  });

  it('counts idle time and lifetime from the latest boot: a parked instance started days later is not ended at once', () => {
    // A priming instance: boots, runs the agent, is parked (stopped) by the daemon after a build.
    const i = instance({ ...realistic, prefetchImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/drone-runner:1.8' }, shell);
    i.setBusy([[T0 + 2 * 60, T0 + 20 * 60]]);
    const first = i.run(T0, T0 + 30 * 60);
    expect(first.shutdowns).toEqual([]);
    // Started five days later: its disk says the last build ended five days ago.
    const start = T0 + 5 * DAY;
    const second = i.run(start, start + 3 * HOUR);
    expect(second.unexpected).toBe('');
    expect(second.shutdowns).toHaveLength(1);
    expect(second.shutdowns[0]! - start).toBeGreaterThanOrEqual(HOUR);
    expect(second.shutdowns[0]! - start).toBeLessThanOrEqual(HOUR + 2 * 60);
    expect(second.log).not.toMatch(/hard maximum/);
  });
});
