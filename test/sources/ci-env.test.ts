import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { poolSchema } from '../../src/config/config.js';
import { agentSpecFor, createQueueSource, loadCiConfig, type CiConfig } from '../../src/config/ci-env.js';
import { systemClock } from '../../src/domain/clock.js';
import { DdaError } from '../../src/domain/errors.js';
import { FakeDrone } from './fake-drone.js';
import { memoryLogger } from './helpers.js';

const SSM = '/ci/drone/rpc-secret';
const drone = { DRONE_SERVER_HOST: 'drone.example.com', DRONE_SERVER_TOKEN: 'tok-abc-123', DRONE_RPC_SECRET_REF: SSM };
const woodpecker = { WOODPECKER_SERVER: 'https://ci.example.com', WOODPECKER_TOKEN: 'wp-tok-9', WOODPECKER_GRPC_ADDR: 'ci.example.com:9000', WOODPECKER_AGENT_SECRET_REF: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:wp-agent-AbCdEf' };
const gocd = { GOCD_SERVER_URL: 'https://gocd.example.com/go', GOCD_TOKEN: 'gocd-tok-7', GOCD_AUTO_REGISTER_KEY_REF: 'arn:aws:ssm:eu-west-1:123456789012:parameter/gocd/key', GOCD_AGENT_IMAGE: 'gocd/gocd-agent-ubuntu-24.04:v25.3.0' };

function configError(env: NodeJS.ProcessEnv): DdaError {
  try {
    loadCiConfig(env);
  } catch (e) {
    if (e instanceof DdaError) return e;
    throw e;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('loadCiConfig', () => {
  it('no CI server configured → undefined (the simulator runs)', () => {
    expect(loadCiConfig({ PATH: '/bin', HOME: '/root' })).toBeUndefined();
  });

  it('drone: defaults (https, RPC = server, runner image, stop timeout)', () => {
    const ci = loadCiConfig(drone)!;
    expect(ci).toEqual({
      kind: 'drone',
      serverUrl: 'https://drone.example.com',
      rpcProto: 'https',
      rpcHost: 'drone.example.com',
      rpcSecretRef: SSM,
      agentImage: 'drone/drone-runner-docker:1',
      agentStopTimeoutSeconds: 120,
      mountDockerSocket: true,
      requestTimeoutMs: 10_000,
    });
    expect(ci.kind === 'drone' && ci.token).toBe('tok-abc-123');
  });

  it('tokens never serialise with the config', () => {
    for (const env of [drone, woodpecker, gocd]) {
      const ci = loadCiConfig(env)!;
      expect(JSON.stringify(ci)).not.toMatch(/tok-/);
      expect(Object.keys(ci)).not.toContain('token');
    }
  });

  it('drone: overrides', () => {
    const ci = loadCiConfig({ ...drone, DRONE_SERVER_PROTO: 'http', DRONE_RPC_HOST: 'drone.internal:8080', DRONE_AGENT_IMAGE: 'drone/drone-runner-docker:1.8.3', DDA_CI_REQUEST_TIMEOUT: '3' })!;
    expect(ci).toMatchObject({ serverUrl: 'http://drone.example.com', rpcProto: 'http', rpcHost: 'drone.internal:8080', agentImage: 'drone/drone-runner-docker:1.8.3', requestTimeoutMs: 3000 });
  });

  it.each([
    ['a missing token', { ...drone, DRONE_SERVER_TOKEN: '' }, 'DRONE_SERVER_TOKEN'],
    ['a scheme in the host', { ...drone, DRONE_SERVER_HOST: 'https://drone.example.com' }, 'DRONE_SERVER_HOST'],
    ['a bad proto', { ...drone, DRONE_SERVER_PROTO: 'ftp' }, 'DRONE_SERVER_PROTO'],
    ['a missing secret ref', { ...drone, DRONE_RPC_SECRET_REF: undefined }, 'DRONE_RPC_SECRET_REF'],
    ['the secret itself given to the daemon', { ...drone, DRONE_RPC_SECRET: 'plain' }, 'DRONE_RPC_SECRET'],
    ['a global runner capacity', { ...drone, DRONE_RUNNER_CAPACITY: '4' }, 'DRONE_RUNNER_CAPACITY'],
    ['two servers', { ...drone, ...woodpecker }, 'DRONE_SERVER_HOST, WOODPECKER_SERVER'],
    ['a stray variable of another server', { ...drone, WOODPECKER_TOKEN: 'x' }, 'WOODPECKER_TOKEN'],
    ['a half-configured server', { DRONE_SERVER_TOKEN: 'x' }, 'DRONE_SERVER_TOKEN'],
    ['a bad timeout', { ...drone, DDA_CI_REQUEST_TIMEOUT: 'soon' }, 'DDA_CI_REQUEST_TIMEOUT'],
    ['woodpecker without gRPC address', { ...woodpecker, WOODPECKER_GRPC_ADDR: '' }, 'WOODPECKER_GRPC_ADDR'],
    ['woodpecker server not a URL', { ...woodpecker, WOODPECKER_SERVER: 'ci.example.com' }, 'WOODPECKER_SERVER'],
    ['gocd URL without /go', { ...gocd, GOCD_SERVER_URL: 'https://gocd.example.com' }, 'GOCD_SERVER_URL'],
    ['gocd without credentials', { ...gocd, GOCD_TOKEN: undefined }, 'GOCD_TOKEN'],
    ['gocd user without password', { ...gocd, GOCD_TOKEN: undefined, GOCD_USERNAME: 'admin' }, 'GOCD_PASSWORD'],
    ['gocd without agent image', { ...gocd, GOCD_AGENT_IMAGE: undefined }, 'GOCD_AGENT_IMAGE'],
  ])('%s → CONFIG_INVALID naming %s', (_w, env, variable) => {
    const e = configError(env);
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message.startsWith(`${variable}:`)).toBe(true);
    expect(e.message).not.toContain('\n');
  });

  it('a secret pasted where its reference belongs is refused without echoing it', () => {
    const e = configError({ ...drone, DRONE_RPC_SECRET_REF: 'correct-horse-battery' });
    expect(e.message).toContain('DRONE_RPC_SECRET_REF');
    expect(e.message).not.toContain('correct-horse-battery');
  });

  it('woodpecker and gocd (token or user/password) load', () => {
    expect(loadCiConfig(woodpecker)).toMatchObject({ kind: 'woodpecker', serverUrl: 'https://ci.example.com', grpcAddr: 'ci.example.com:9000', agentImage: 'woodpeckerci/woodpecker-agent:v3' });
    expect(loadCiConfig(gocd)).toMatchObject({ kind: 'gocd', serverUrl: 'https://gocd.example.com/go', agentServerUrl: 'https://gocd.example.com/go', mountDockerSocket: false });
    const basic = loadCiConfig({ ...gocd, GOCD_TOKEN: undefined, GOCD_USERNAME: 'admin', GOCD_PASSWORD: 'pw' })!;
    expect(basic.kind === 'gocd' && basic.auth).toEqual({ kind: 'basic', user: 'admin', password: 'pw' });
  });
});

describe('agentSpecFor', () => {
  const plain = poolSchema.parse({ name: 'default', concurrency: 2 });
  const arm = poolSchema.parse({ name: 'arm', concurrency: 3, demand: { arch: 'arm64', variant: 'v8', labels: { size: 'xl', gpu: 'yes' } } });

  it('drone: RPC, capacity from the pool, platform, sorted labels, secret by reference', () => {
    expect(agentSpecFor(loadCiConfig(drone)!, arm)).toEqual({
      image: 'drone/drone-runner-docker:1',
      env: {
        DRONE_RPC_PROTO: 'https',
        DRONE_RPC_HOST: 'drone.example.com',
        DRONE_RUNNER_CAPACITY: '3',
        DRONE_PLATFORM_OS: 'linux',
        DRONE_PLATFORM_ARCH: 'arm64',
        DRONE_PLATFORM_VARIANT: 'v8',
        DRONE_RUNNER_LABELS: 'gpu:yes,size:xl',
      },
      secretRefs: { DRONE_RPC_SECRET: SSM },
      nameVariable: 'DRONE_RUNNER_NAME',
      stopTimeoutSeconds: 120,
      mountDockerSocket: true,
    });
    expect(agentSpecFor(loadCiConfig(drone)!, plain).env).not.toHaveProperty('DRONE_RUNNER_LABELS');
  });

  it('woodpecker: gRPC address, max workflows, labels with platform', () => {
    const spec = agentSpecFor(loadCiConfig({ ...woodpecker, WOODPECKER_GRPC_SECURE: 'true' })!, arm);
    expect(spec.env).toEqual({
      WOODPECKER_SERVER: 'ci.example.com:9000',
      WOODPECKER_MAX_WORKFLOWS: '3',
      WOODPECKER_BACKEND: 'docker',
      WOODPECKER_AGENT_LABELS: 'platform=linux/arm64/v8,gpu=yes,size=xl',
      WOODPECKER_GRPC_SECURE: 'true',
    });
    expect(spec.secretRefs).toEqual({ WOODPECKER_AGENT_SECRET: woodpecker.WOODPECKER_AGENT_SECRET_REF });
    expect(spec.nameVariable).toBe('WOODPECKER_HOSTNAME');
  });

  it('gocd: resources and environment from labels; other platforms refused', () => {
    const p = poolSchema.parse({ name: 'big', demand: { labels: { docker: 'true', large: 'true', environment: 'ci' } } });
    const spec = agentSpecFor(loadCiConfig(gocd)!, p);
    expect(spec.env).toEqual({ GO_SERVER_URL: 'https://gocd.example.com/go', AGENT_AUTO_REGISTER_RESOURCES: 'docker,large', AGENT_AUTO_REGISTER_ENVIRONMENTS: 'ci' });
    expect(spec.secretRefs).toEqual({ AGENT_AUTO_REGISTER_KEY: gocd.GOCD_AUTO_REGISTER_KEY_REF });
    expect(spec.nameVariable).toBe('AGENT_AUTO_REGISTER_HOSTNAME');
    expect(() => agentSpecFor(loadCiConfig(gocd)!, arm)).toThrow(/pools\.arm/);
  });

  it('labels that cannot be written for the agent are a config error naming the pool', () => {
    const bad = poolSchema.parse({ name: 'odd', demand: { labels: { 'a:b': 'c' } } });
    expect(() => agentSpecFor(loadCiConfig(drone)!, bad)).toThrow(DdaError);
  });
});

describe('createQueueSource', () => {
  let fake: FakeDrone | undefined;
  afterEach(async () => fake?.close());

  it('wires a Drone config to a source that polls the server', async () => {
    fake = await FakeDrone.start({ token: 'tok-abc-123' });
    fake.addStage({ id: 7 });
    const host = new URL(fake.url).host;
    const ci: CiConfig = loadCiConfig({ ...drone, DRONE_SERVER_HOST: host, DRONE_SERVER_PROTO: 'http' })!;
    const dispatcher = new Agent();
    const source = createQueueSource(ci, { clock: systemClock, logger: memoryLogger().logger, dispatcher });
    expect(source.kind).toBe('drone');
    await source.probe();
    expect((await source.poll()).stages.map((s) => s.id)).toEqual(['7']);
    await dispatcher.close();
  });

  it('builds woodpecker and gocd sources with their drain style', () => {
    const deps = { clock: systemClock, logger: memoryLogger().logger };
    expect(createQueueSource(loadCiConfig(woodpecker)!, deps)).toMatchObject({ kind: 'woodpecker', drainStyle: 'server' });
    expect(createQueueSource(loadCiConfig(gocd)!, deps)).toMatchObject({ kind: 'gocd', drainStyle: 'server' });
  });
});
