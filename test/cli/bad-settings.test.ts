import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPath } from '../helpers/traces.js';
import { writeJson } from '../helpers/cli-process.js';

/**
 * Every bad setting that issue 13 lists, through the built CLI as a user meets it: one line
 * naming what is wrong, exit code 2, nothing on stdout, no library's text, no secret.
 */
const cli = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [cliPath(), ...args], { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

const TOKEN = 'tok-never-shown-4f1e';
// A port nothing listens on: the daemon must refuse before it polls anything.
const drone = { DRONE_SERVER_PROTO: 'http', DRONE_SERVER_HOST: '127.0.0.1:9', DRONE_SERVER_TOKEN: TOKEN, DRONE_RPC_SECRET_REF: '/ci/drone/rpc' };

const dir = mkdtempSync(join(tmpdir(), 'dda-'));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const bundled = join(cliPath(), '..', '..', '..', '..', 'data', 'traces', 'singularity-2016-06-27-3w.csv');

function expectOneLine(r: { code: number | null; out: string; err: string }, line: string) {
  expect(r.err).toBe(`drone-dynamic-agents: ${line}\n`);
  expect(r.code).toBe(2);
  expect(r.out).toBe('');
  expect(r.err).not.toContain(TOKEN);
}

describe('bad settings: one line naming them, exit code 2', { timeout: 60_000 }, () => {
  const nullFile = write('null.json', 'null');
  const poolFile = write('pool.json', JSON.stringify({ pool: [{ name: 'default' }] }));
  const graceFile = write('grace.json', JSON.stringify({ planner: { idleGracSeconds: 5 } }));
  const bootFile = write('boot.json', JSON.stringify({ simulatedCloud: { bootSeconds: [90, 40] } }));
  const bootstrapFile = write('bootstrap.json', JSON.stringify({ simulatedCloud: { bootstrapSeconds: [90, 40] } }));

  it.each([
    ['a config file holding null', ['run', '--config', nullFile], {}, `CONFIG_INVALID: config file ${nullFile}: holds null; it must hold a JSON object such as {"pools": [{"name": "default"}]} (every key optional)`],
    ['a misspelt key', ['run', '--config', poolFile], {}, `CONFIG_INVALID: config file ${poolFile}: unknown key "pool" — did you mean "pools"?`],
    ['a misspelt nested key', ['simulate', '--trace', bundled, '--config', graceFile], {}, `CONFIG_INVALID: config file ${graceFile}: unknown key "planner.idleGracSeconds" — did you mean "planner.idleGraceSeconds"?`],
    ['the old bootSeconds, reversed', ['run', '--config', bootFile], {}, `CONFIG_INVALID: config file ${bootFile}: simulatedCloud.bootSeconds: replaced by vmStartSeconds (the VM starts, default [20, 30]) and bootstrapSeconds (its agent host registers, default [40, 90])`],
    ['a reversed range', ['run', '--config', bootstrapFile], {}, `CONFIG_INVALID: config file ${bootstrapFile}: simulatedCloud.bootstrapSeconds: the first bound is above the second ([low, high] seconds)`],
    ['AWS variables without the cluster', ['run'], { ...drone, AWS_REGION: 'eu-west-1', DDA_SUBNETS: 'subnet-0000000a' }, 'CONFIG_INVALID: DDA_ECS_CLUSTER: required: DDA_SUBNETS is set, so the daemon would use AWS, but DDA_ECS_CLUSTER is not; set it, or unset DDA_SUBNETS to dry-run on the simulated cloud'],
    ['AWS variables without the region', ['run'], { ...drone, DDA_ECS_CLUSTER: 'ci' }, 'CONFIG_INVALID: DDA_AWS_REGION: required: DDA_ECS_CLUSTER is set, so the daemon would use AWS, but DDA_AWS_REGION (or AWS_REGION) is not; set it, or unset DDA_ECS_CLUSTER to dry-run on the simulated cloud'],
    ['a listen port out of range', ['run'], { ...drone, DDA_HTTP_LISTEN: '127.0.0.1:99999' }, 'CONFIG_INVALID: DDA_HTTP_LISTEN: the port must be 0 to 65535, not 99999'],
    ['an inspector port that is no number', ['run', '--inspect'], { ...drone, DDA_INSPECT_PORT: 'abc' }, 'CONFIG_INVALID: DDA_INSPECT_PORT: must be a TCP port from 1 to 65535, not "abc"'],
    ['an unknown log level', ['run'], { ...drone, DDA_LOG_LEVEL: 'verbose' }, 'CONFIG_INVALID: DDA_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, not "verbose"'],
    ['a CI server port out of range', ['run'], { ...drone, DRONE_SERVER_HOST: '127.0.0.1:99999' }, 'CONFIG_INVALID: DRONE_SERVER_HOST: the port must be 1 to 65535, not 99999 (the Drone server, e.g. drone.example.com)'],
    ['a misspelt DDA_ variable', ['run'], { ...drone, DDA_LOG_LEVL: 'warn' }, 'CONFIG_INVALID: DDA_LOG_LEVL: unknown variable — did you mean DDA_LOG_LEVEL?'],
    ['a misspelt adapter variable', ['run'], { ...drone, DRONE_SERVER_HOST: '', DRONE_SERVR_HOST: '127.0.0.1:9' }, 'CONFIG_INVALID: DRONE_SERVR_HOST: unknown variable — did you mean DRONE_SERVER_HOST?'],
    ['a token given twice', ['run'], { ...drone, DRONE_SERVER_TOKEN_FILE: write('token', `${TOKEN}-file\n`) }, 'CONFIG_INVALID: DRONE_SERVER_TOKEN_FILE: DRONE_SERVER_TOKEN is set too: set one of the two'],
    ['an unreadable token file', ['run'], { ...drone, DRONE_SERVER_TOKEN: '', DRONE_SERVER_TOKEN_FILE: join(dir, 'missing') }, `CONFIG_INVALID: DRONE_SERVER_TOKEN_FILE: cannot read ${join(dir, 'missing')}: ENOENT`],
    ['an unknown variable with nothing configured', ['run'], { DDA_HTTP_LISTN: '9090' }, 'CONFIG_INVALID: DDA_HTTP_LISTN: unknown variable — did you mean DDA_HTTP_LISTEN?'],
  ])('%s', (_what, args, env, line) => {
    expectOneLine(cli(args, env), line);
  });

  it('the config command refuses the same settings with the same line', () => {
    expectOneLine(cli(['config', '--config', poolFile]), `CONFIG_INVALID: config file ${poolFile}: unknown key "pool" — did you mean "pools"?`);
    expectOneLine(cli(['config'], { ...drone, DDA_LOG_LEVEL: 'verbose' }), 'CONFIG_INVALID: DDA_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, not "verbose"');
  });
});

describe('bad traces and windows: one line, exit code 2', { timeout: 60_000 }, () => {
  it('a quoted header and quoted fields are CSV like any other', () => {
    const quoted = write('quoted.csv', '"job_id","created_at_iso","duration_s","name"\r\n"1","2016-03-01T10:00:00Z","600","build, test"\r\n2,2016-03-01T11:00:00Z,60,"say ""hi"""\r\n');
    const r = cli(['simulate', '--trace', quoted, '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ jobs: 2, jobs_completed: 2 });
  });

  it.each([
    ['a stray quote', 'job_id,created_at_iso,duration_s\n1,2016-03-01T10:00:00Z,6"00\n', 'line 2: a quote inside an unquoted field: quote the whole field and double the quote ("6""00")'],
    ['an unclosed quote', 'job_id,created_at_iso,duration_s\n1,"2016-03-01T10:00:00Z,600\n2,2016-03-01T11:00:00Z,60\n', 'line 2: a quoted field opened here is never closed'],
    ['another separator', 'job_id;created_at_iso;duration_s\n1;2016-03-01T10:00:00Z;600\n', 'missing column "job_id" in the header line, which has one column: "job_id;created_at_iso;duration_s" (comma-separated, as in job_id,created_at_iso,duration_s)'],
    ['an empty file', '', 'the file is empty (expected a header line: job_id,created_at_iso,duration_s)'],
  ])('%s', (_what, text, reason) => {
    const path = write(`t${Math.random().toString(36).slice(2)}.csv`, text);
    expectOneLine(cli(['simulate', '--trace', path]), `TRACE_INVALID: ${path}: ${reason}`);
  });

  it('--days beyond the trace is refused at once, with the span', () => {
    const started = Date.now();
    expectOneLine(cli(['simulate', '--trace', bundled, '--days', '3650']), `USAGE: --days 3650 goes past the end of the trace: the trace ${bundled} spans 20 days, 2016-06-27 through 2016-07-16; from 2016-06-27 use --days 20 or fewer`);
    expectOneLine(cli(['simulate', '--trace', bundled, '--from', '2016-07-10T12:00:00Z', '--days', '9']), `USAGE: --days 9 goes past the end of the trace: the trace ${bundled} spans 20 days, 2016-06-27 through 2016-07-16; from 2016-07-10 use --days 6.5 or fewer`);
    expectOneLine(cli(['simulate', '--trace', bundled, '--from', '2000-01-01']), `USAGE: --from 2000-01-01T00:00:00.000Z is outside the trace: the trace ${bundled} spans 20 days, 2016-06-27 through 2016-07-16`);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('drone-dynamic-agents config', { timeout: 60_000 }, () => {
  it('prints the effective settings as JSON, exit 0, and no secret value', () => {
    const cfg = writeJson({ pools: [{ name: 'default', max: 4 }], planner: { budgetPerHour: 2 } });
    const awsKey = 'aws-secret-key-never-shown';
    const env = { ...drone, DDA_HTTP_TOKEN: 'bearer-never-shown', DDA_HTTP_LISTEN: '0.0.0.0:9090', DDA_AWS_REGION: 'eu-west-1', DDA_ECS_CLUSTER: 'ci', AWS_ACCESS_KEY_ID_FILE: write('akid', 'AKIANEVERSHOWN\n'), AWS_SECRET_ACCESS_KEY_FILE: write('sak', `${awsKey}\n`) };
    const r = cli(['config', '--config', cfg], env);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    for (const s of [TOKEN, 'bearer-never-shown', 'AKIANEVERSHOWN', awsKey]) expect(r.out).not.toContain(s);
    const o = JSON.parse(r.out) as Record<string, Record<string, unknown>>;
    expect(o.mode).toBe('aws');
    expect(o.daemon).toEqual({ logLevel: 'info', httpListen: { host: '0.0.0.0', port: 9090 }, inspectPort: 8383, restartInterruptedBuilds: false, requireCiServer: false, httpToken: '***' });
    expect(o.ci).toMatchObject({ kind: 'drone', serverUrl: 'http://127.0.0.1:9', token: '***', requestTimeoutMs: 10_000 });
    expect(o.cloud).toMatchObject({ kind: 'aws', region: 'eu-west-1', cluster: 'ci', credentials: '***', market: 'spot-then-on-demand' });
    expect(o.settings).toMatchObject({ pools: [{ name: 'default', max: 4, min: 0 }], planner: { budgetPerHour: 2, maxInstances: 16 } });
  });

  it('with nothing configured: the defaults, and what run would do', () => {
    const r = cli(['config']);
    expect(r.code).toBe(0);
    const o = JSON.parse(r.out) as { mode: string; ci: unknown; cloud: unknown };
    expect(o.mode).toMatch(/^replay/);
    expect(o.ci).toBeNull();
    expect(o.cloud).toEqual({ kind: 'simulated' });
  });

  it('a near miss of a variable another Drone program reads is a warning on stderr, not an error', () => {
    const r = cli(['config'], { ...drone, DRONE_SERVER_PORT: ':80' });
    expect(r.code).toBe(0);
    expect(r.err).toBe('drone-dynamic-agents: warning: DRONE_SERVER_PORT: unknown variable, ignored (DRONE_SERVER_HOST is set; did you mean it?)\n');
  });
});
