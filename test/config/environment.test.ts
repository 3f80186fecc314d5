import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/cli/paths.js';
import { effectiveSettings, loadEnvironment, settingsJson } from '../../src/cli/settings.js';
import { AWS_ENV } from '../../src/cloud/aws/settings.js';
import { CI_COMMON_NAMES } from '../../src/sources/ci-server.js';
import { parseConfig } from '../../src/config/config.js';
import { DAEMON_ENV, loadDaemonSettings } from '../../src/config/daemon-env.js';
import { checkNames } from '../../src/config/env.js';
import { DdaError } from '../../src/domain/errors.js';
import { CI_SERVERS } from '../../src/sources/registry.js';
import { droneEnv, expectNamed, gocdEnv, woodpeckerEnv } from '../sources/ci-env-fixtures.js';
import { stub } from '../sources/stub-server/index.js';

const config = parseConfig({ pools: [{ name: 'default' }, { name: 'arm-big', demand: { arch: 'arm64' } }] });
const load = (env: Record<string, string>) => loadEnvironment(env, config);

function problem(f: () => unknown): DdaError {
  try {
    f();
  } catch (e) {
    if (e instanceof DdaError) return e;
    throw e;
  }
  throw new Error('expected CONFIG_INVALID');
}

const secretFile = (content: string) => {
  const path = join(mkdtempSync(join(tmpdir(), 'dda-')), 'secret');
  writeFileSync(path, content);
  return path;
};

describe("the daemon's own variables", () => {
  it('defaults', () => {
    expect({ ...loadDaemonSettings({}) }).toEqual({ logLevel: 'info', httpListen: undefined, inspectPort: 8383, restartInterruptedBuilds: false, requireCiServer: false });
    expect(loadDaemonSettings({ DDA_RESTART_INTERRUPTED_BUILDS: 'true' }).restartInterruptedBuilds).toBe(true);
    expect(() => loadDaemonSettings({ DDA_RESTART_INTERRUPTED_BUILDS: 'sometimes' })).toThrow(/DDA_RESTART_INTERRUPTED_BUILDS: must be true or false/);
  });

  it.each([
    [{ DDA_HTTP_LISTEN: '9090' }, { httpListen: { host: '127.0.0.1', port: 9090 } }],
    [{ DDA_HTTP_LISTEN: '0.0.0.0:9090' }, { httpListen: { host: '0.0.0.0', port: 9090 } }],
    [{ DDA_HTTP_LISTEN: '[::1]:0' }, { httpListen: { host: '::1', port: 0 } }],
    [{ DDA_LOG_LEVEL: 'warn' }, { logLevel: 'warn' }],
    [{ DDA_INSPECT_PORT: ' 9229 ' }, { inspectPort: 9229 }],
    [{ DDA_REQUIRE_CI_SERVER: 'true' }, { requireCiServer: true }],
    [{ DDA_REQUIRE_CI_SERVER: '0' }, { requireCiServer: false }],
  ])('%j', (env, expected) => {
    expect(loadDaemonSettings(env)).toMatchObject(expected);
  });

  it.each([
    [{ DDA_HTTP_LISTEN: '127.0.0.1:99999' }, 'DDA_HTTP_LISTEN: the port must be 0 to 65535, not 99999'],
    [{ DDA_HTTP_LISTEN: 'http://0.0.0.0:80' }, 'DDA_HTTP_LISTEN: must be [host:]port, e.g. 127.0.0.1:9090 or 9090, not "http://0.0.0.0:80"'],
    [{ DDA_INSPECT_PORT: 'abc' }, 'DDA_INSPECT_PORT: must be a TCP port from 1 to 65535, not "abc"'],
    [{ DDA_INSPECT_PORT: '0' }, 'DDA_INSPECT_PORT: must be a TCP port from 1 to 65535, not "0"'],
    [{ DDA_INSPECT_PORT: '65536' }, 'DDA_INSPECT_PORT: must be a TCP port from 1 to 65535, not "65536"'],
    [{ DDA_LOG_LEVEL: 'verbose' }, 'DDA_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, not "verbose"'],
  ])('%j → %s', (env, message) => {
    expect(problem(() => loadDaemonSettings(env)).message).toBe(message);
  });
});

describe('host[:port] variables check the port', () => {
  it.each([
    [{ ...droneEnv, DRONE_SERVER_HOST: '127.0.0.1:99999' }, 'DRONE_SERVER_HOST: the port must be 1 to 65535, not 99999 (the Drone server, e.g. drone.example.com)'],
    [{ ...droneEnv, DRONE_SERVER_HOST: '127.0.0.1:0' }, 'DRONE_SERVER_HOST: the port must be 1 to 65535, not 0 (the Drone server, e.g. drone.example.com)'],
    [{ ...droneEnv, DRONE_RPC_HOST: 'drone:123456' }, 'DRONE_RPC_HOST: must be host[:port] without scheme or path: the address runners reach the server at'],
    [{ ...woodpeckerEnv, WOODPECKER_GRPC_ADDR: 'ci.example.com:70000' }, 'WOODPECKER_GRPC_ADDR: the port must be 1 to 65535, not 70000 (the gRPC address agents connect to, e.g. ci.example.com:9000)'],
  ])('%j → %s', (env, message) => {
    expect(problem(() => load(env)).message).toBe(message);
  });

  it('a good port passes', () => {
    expect(load({ ...droneEnv, DRONE_SERVER_HOST: '127.0.0.1:65535' }).ci!.settings.serverUrl).toBe('https://127.0.0.1:65535');
  });
});

describe('unknown variables', () => {
  it.each([
    [{ DDA_LOG_LEVL: 'warn' }, 'DDA_LOG_LEVL: unknown variable — did you mean DDA_LOG_LEVEL?'],
    [{ DDA_HTTP_LISTN: '9090' }, 'DDA_HTTP_LISTN: unknown variable — did you mean DDA_HTTP_LISTEN?'],
    [{ DDA_ECS_CLUSTR: 'ci' }, 'DDA_ECS_CLUSTR: unknown variable — did you mean DDA_ECS_CLUSTER?'],
    [{ DDA_CI_REQUEST_TIMOUT: '5' }, 'DDA_CI_REQUEST_TIMOUT: unknown variable — did you mean DDA_CI_REQUEST_TIMEOUT?'.replace('DDA_CI_REQUEST_TIMEOUT: unknown', 'DDA_CI_REQUEST_TIMOUT: unknown')],
    [{ DDA_FROBNICATE: '1' }, 'DDA_FROBNICATE: unknown variable — the variables are listed in docs/configuration.md'],
    [{ DDA_POOL_DEFAULT_INSTANCE_TYPE: 'c6i.large' }, 'DDA_POOL_DEFAULT_INSTANCE_TYPE: unknown variable — per-pool variables are DDA_POOL_<NAME>_AMI and DDA_POOL_<NAME>_INSTANCE_TYPES, <NAME> the pool name in capitals with - written _'],
    [{ ...droneEnv, DRONE_SERVER_TOKEN_FIEL: '/run/secrets/t' }, 'DRONE_SERVER_TOKEN_FIEL: unknown variable — did you mean DRONE_SERVER_TOKEN_FILE?'],
    [{ DRONE_SERVR_HOST: 'drone.example.com', DRONE_SERVER_TOKEN: 'tok-abc-123' }, 'DRONE_SERVR_HOST: unknown variable — did you mean DRONE_SERVER_HOST?'],
    [{ ...woodpeckerEnv, WOODPECKER_AGENT_IMAG: 'x' }, 'WOODPECKER_AGENT_IMAG: unknown variable — did you mean WOODPECKER_AGENT_IMAGE?'],
    [{ AWS_REGOIN: 'eu-west-1' }, 'AWS_REGOIN: unknown variable — did you mean AWS_REGION?'],
  ])('%j → %s', (env, message) => {
    const e = problem(() => load(env));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toBe(message);
  });

  it('a name is checked before the values, so the typo is named rather than what it leaves unset', () => {
    // Without the name check this would be "DRONE_SERVER_TOKEN: is set but DRONE_SERVER_HOST is not".
    expectNamed(problem(() => load({ DRONE_SERVR_HOST: 'd', DRONE_SERVER_TOKEN: 'x' })), 'DRONE_SERVR_HOST');
  });

  it("a CI server's prefix is shared with its own programs: their variables pass, a near miss of a set variable is a warning", () => {
    const env = { ...droneEnv, DRONE_BUILD_NUMBER: '7', DRONE_RUNNER_NAME: 'r1', DRONE_GITHUB_CLIENT_ID: 'x', DRONE_SERVER_PORT: ':80', DRONE: 'true' };
    expect(load(env).warnings).toEqual(['DRONE_SERVER_PORT: unknown variable, ignored (DRONE_SERVER_HOST is set; did you mean it?)']);
  });

  it('the known names cover every variable each schema reads: complete environments pass without a word', () => {
    for (const env of [droneEnv, woodpeckerEnv, gocdEnv]) expect(load({ ...env, DDA_CI_REQUEST_TIMEOUT: '5', DDA_LOG_LEVEL: 'warn', DDA_HTTP_LISTEN: '9090', DDA_INSPECT_PORT: '9229', DDA_HTTP_TOKEN: 'h-0123456789abcdef', DDA_RESTART_INTERRUPTED_BUILDS: 'false' }).warnings).toEqual([]);
    const aws = { DDA_AWS_REGION: 'eu-west-1', DDA_ECS_CLUSTER: 'ci', DDA_AWS_ENDPOINT: 'http://127.0.0.1:5000', DDA_AMI: 'ami-12345678', DDA_INSTANCE_TYPES: 'c6i.large', DDA_MARKET: 'spot', DDA_SPOT_MAX_PRICE: '0.1', DDA_INSTANCE_PRICES: 'c6i.large=0.085', DDA_DEFAULT_PRICE_PER_HOUR: '0.2', DDA_VOLUME_TYPE: 'gp3', DDA_TASK_EXECUTION_ROLE: 'arn:aws:iam::123456789012:role/x', DDA_AGENT_NETWORK_MODE: 'host', DDA_INSTANCE_PROFILE: 'p', DDA_ROOT_DEVICE: '/dev/xvda', DDA_SUBNETS: 'subnet-0000000a', DDA_SECURITY_GROUPS: 'sg-0000000a', DDA_VOLUME_SIZE: '30', DDA_CAPACITY_BACKOFF_SECONDS: '60', DDA_AGENT_MEMORY_MIB: '512', DDA_WATCHDOG_IDLE_MINUTES: '60', DDA_WATCHDOG_MAX_HOURS: '0', DDA_AWS_INTERRUPTION_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dda-interruptions', DDA_POOL_ARM_BIG_AMI: 'ami-12345678', DDA_POOL_DEFAULT_INSTANCE_TYPES: 'c6i.large' };
    const e = load({ ...droneEnv, ...aws, AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-1', AWS_PROFILE: 'ci', AWS_SHARED_CREDENTIALS_FILE: '/x' });
    expect(e.warnings).toEqual([]);
    expect(e.aws!.pools).toEqual({ 'arm-big': { ami: 'ami-12345678' }, default: { instanceTypes: ['c6i.large'] } });
  });

  it('a blank variable counts as unset, as everywhere', () => {
    expect(load({ DDA_WHATEVER: ' ' }).ci).toBeUndefined();
  });

  it('a fourth CI server takes part through its env names', () => {
    expect(problem(() => loadEnvironment({ STUB_SERVR_URL: 'x' }, config, [...CI_SERVERS, stub])).message).toBe('STUB_SERVR_URL: unknown variable — did you mean STUB_SERVER_URL?');
  });

  it('checkNames answers warnings in name order and throws the first error', () => {
    const scopes = [{ prefix: 'X_', names: ['X_ONE', 'X_TWO'], owned: false }];
    expect(checkNames({ X_ONE: '1', X_TWO: '2', X_TWA: '3', X_ONF: '4' }, scopes)).toEqual(['X_ONF: unknown variable, ignored (X_ONE is set; did you mean it?)', 'X_TWA: unknown variable, ignored (X_TWO is set; did you mean it?)']);
  });
});

describe('per-pool variables name a pool of the settings', () => {
  it('an override of a pool that does not exist is an error, not silently ignored', () => {
    expect(problem(() => load({ DDA_AWS_REGION: 'eu-west-1', DDA_ECS_CLUSTER: 'ci', ...droneEnv, DDA_POOL_ARMBIG_AMI: 'ami-12345678' })).message).toBe('DDA_POOL_ARMBIG_AMI: no pool named "armbig" in the settings (pools: default, arm-big)');
  });
});

describe('secrets from files (<NAME>_FILE)', () => {
  it('every CI token, the status token and the AWS keys take a file; the value is its trimmed content', () => {
    const drone = load({ ...droneEnv, DRONE_SERVER_TOKEN: '', DRONE_SERVER_TOKEN_FILE: secretFile('tok-from-file\n') });
    expect((drone.ci!.settings as unknown as { token: string }).token).toBe('tok-from-file');
    const wp = load({ ...woodpeckerEnv, WOODPECKER_TOKEN: '', WOODPECKER_TOKEN_FILE: secretFile('  wp-file \n') });
    expect((wp.ci!.settings as unknown as { token: string }).token).toBe('wp-file');
    const gocd = load({ ...gocdEnv, GOCD_TOKEN: '', GOCD_USERNAME: 'admin', GOCD_PASSWORD_FILE: secretFile('pw\n') });
    expect((gocd.ci!.settings as unknown as { auth: unknown }).auth).toEqual({ kind: 'basic', user: 'admin', password: 'pw' });
    expect(load({ DDA_HTTP_TOKEN_FILE: secretFile('bearer-1-0123456789abcdef\n') }).daemon.httpToken).toBe('bearer-1-0123456789abcdef');
    const aws = load({ ...droneEnv, DDA_AWS_REGION: 'eu-west-1', DDA_ECS_CLUSTER: 'ci', AWS_ACCESS_KEY_ID_FILE: secretFile('AKIAFILE\n'), AWS_SECRET_ACCESS_KEY_FILE: secretFile('sk-file\n') }).aws!;
    expect(aws.credentials).toEqual({ accessKeyId: 'AKIAFILE', secretAccessKey: 'sk-file' });
    expect(JSON.stringify(aws)).not.toContain('sk-file');
  });

  it('without _FILE the SDK finds the AWS keys itself', () => {
    expect(load({ ...droneEnv, DDA_AWS_REGION: 'eu-west-1', DDA_ECS_CLUSTER: 'ci', AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'sk' }).aws!.credentials).toBeUndefined();
  });

  it('a key file alone switches to AWS, and the other half of the key is required', () => {
    expect(problem(() => load({ ...droneEnv, AWS_SECRET_ACCESS_KEY_FILE: secretFile('sk') })).message).toMatch(/^DDA_ECS_CLUSTER: required: AWS_SECRET_ACCESS_KEY_FILE is set/);
    expect(problem(() => load({ ...droneEnv, DDA_AWS_REGION: 'eu-west-1', DDA_ECS_CLUSTER: 'ci', AWS_SECRET_ACCESS_KEY_FILE: secretFile('sk') })).message).toBe(
      'AWS_ACCESS_KEY_ID: required with AWS_SECRET_ACCESS_KEY_FILE (or AWS_ACCESS_KEY_ID_FILE, a file holding it)',
    );
  });

  it('both the variable and its file: one line naming both', () => {
    const e = problem(() => load({ ...droneEnv, DRONE_SERVER_TOKEN_FILE: secretFile('other') }));
    expect(e.message).toBe('DRONE_SERVER_TOKEN_FILE: DRONE_SERVER_TOKEN is set too: set one of the two');
    expect(e.message).not.toContain('tok-abc-123');
  });

  it('an unreadable or empty file: the variable and the path, never any content', () => {
    expect(problem(() => load({ ...droneEnv, DRONE_SERVER_TOKEN: '', DRONE_SERVER_TOKEN_FILE: '/nonexistent/token' })).message).toBe('DRONE_SERVER_TOKEN_FILE: cannot read /nonexistent/token: ENOENT');
    const dir = mkdtempSync(join(tmpdir(), 'dda-'));
    expect(problem(() => load({ ...droneEnv, DRONE_SERVER_TOKEN: '', DRONE_SERVER_TOKEN_FILE: dir })).message).toBe(`DRONE_SERVER_TOKEN_FILE: cannot read ${dir}: EISDIR`);
    const empty = secretFile(' \n');
    expect(problem(() => load({ ...droneEnv, DRONE_SERVER_TOKEN: '', DRONE_SERVER_TOKEN_FILE: empty })).message).toBe(`DRONE_SERVER_TOKEN_FILE: ${empty} is empty`);
    if (process.getuid?.() !== 0) {
      const locked = secretFile('tok-locked');
      chmodSync(locked, 0o000);
      expect(problem(() => load({ ...droneEnv, DRONE_SERVER_TOKEN: '', DRONE_SERVER_TOKEN_FILE: locked })).message).toBe(`DRONE_SERVER_TOKEN_FILE: cannot read ${locked}: EACCES`);
    }
  });

  it('a missing secret says the file is an alternative', () => {
    expect(problem(() => load({ DRONE_SERVER_HOST: 'd', DRONE_RPC_SECRET_REF: '/a/b' })).message).toBe("DRONE_SERVER_TOKEN: required: an admin user's API token (or DRONE_SERVER_TOKEN_FILE, a file holding it)");
  });

  it("an agent's own secret is refused as a file too: the agent gets it by reference", () => {
    expect(problem(() => load({ ...droneEnv, DRONE_RPC_SECRET_FILE: secretFile('rpc') })).message).toBe('DRONE_RPC_SECRET_FILE: not read by the daemon: store the secret in SSM or Secrets Manager and set DRONE_RPC_SECRET_REF');
    expect(problem(() => load({ ...woodpeckerEnv, WOODPECKER_AGENT_SECRET_FILE: secretFile('s') })).message).toMatch(/^WOODPECKER_AGENT_SECRET_FILE: not read by the daemon: .*WOODPECKER_AGENT_SECRET_REF$/);
  });

  it("a token file of a server that is not configured is a stray variable, as the token would be", () => {
    expectNamed(problem(() => load({ ...droneEnv, WOODPECKER_TOKEN_FILE: secretFile('x') })), 'WOODPECKER_TOKEN_FILE');
  });
});

describe('effective settings (drone-dynamic-agents config)', () => {
  it('masks every secret, shows what is unset as null, and says what run would do', () => {
    const env = { ...droneEnv, DDA_HTTP_TOKEN: 'bearer-s3cret-0123456789', DDA_AWS_REGION: 'eu-west-1', DDA_ECS_CLUSTER: 'ci', AWS_ACCESS_KEY_ID_FILE: secretFile('AKIAS3CRET'), AWS_SECRET_ACCESS_KEY_FILE: secretFile('aws-s3cret') };
    const out = settingsJson(effectiveSettings(config, load(env)));
    for (const s of ['tok-abc-123', 'bearer-s3cret', 'AKIAS3CRET', 'aws-s3cret']) expect(out).not.toContain(s);
    const o = JSON.parse(out) as Record<string, Record<string, unknown>>;
    expect(o.mode).toBe('aws');
    expect(o.daemon).toEqual({ logLevel: 'info', httpListen: null, inspectPort: 8383, restartInterruptedBuilds: false, requireCiServer: false, httpToken: '***' });
    expect(o.ci).toMatchObject({ kind: 'drone', serverUrl: 'https://drone.example.com', token: '***' });
    expect(o.cloud).toMatchObject({ kind: 'aws', region: 'eu-west-1', cluster: 'ci', ami: null, credentials: '***' });
    expect(o.settings).toEqual(JSON.parse(JSON.stringify(config)));
  });

  it('replay and dry run', () => {
    expect(effectiveSettings(config, load({})).mode).toMatch(/^replay/);
    expect(effectiveSettings(config, load(gocdEnv)).mode).toMatch(/^dry run/);
    expect(JSON.parse(settingsJson(effectiveSettings(config, load(gocdEnv)))).ci.auth).toBe('***');
  });
});

describe('the configuration reference', () => {
  it('documents every variable a schema reads (docs/*.md)', () => {
    const docs = readdirSync(join(projectRoot(), 'docs')).filter((f) => f.endsWith('.md')).map((f) => readFileSync(join(projectRoot(), 'docs', f), 'utf8')).join('\n');
    const names = [DAEMON_ENV, CI_COMMON_NAMES, AWS_ENV, ...CI_SERVERS.map((s) => s.env)].flatMap((e) => e.names).filter((n) => !n.endsWith('_FILE'));
    expect(names.length).toBeGreaterThan(40);
    expect(names.filter((n) => !new RegExp(`\\b${n}\\b`).test(docs))).toEqual([]);
  });
});
